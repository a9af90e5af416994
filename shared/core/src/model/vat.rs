//! VAT lines as a form holds them: one line per rate, typed as people write rates and amounts,
//! read in the document's currency. The employee's expense form and the firm's review edit
//! them the same way.

use facet::Facet;
use kvits_protocol::{Money, VatLine};
use serde::{Deserialize, Serialize};

use crate::format;

/// A change to a form's VAT lines. `line` counts from 0.
#[derive(Facet, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub enum VatEdit {
    /// The rate in percent as typed: `21`, `5.5`, `5,5`.
    Rate {
        line: u32,
        value: String,
    },
    /// The net amount as typed, in the document's currency.
    Net {
        line: u32,
        value: String,
    },
    /// The VAT amount as typed.
    Amount {
        line: u32,
        value: String,
    },
    /// Another line (up to the domain's limit).
    Add,
    Remove {
        line: u32,
    },
}

/// One VAT line as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VatInput {
    pub rate: String,
    pub net: String,
    pub vat: String,
}

/// A form's VAT lines as typed. Errors are keyed `vat.{line}.rate`, `vat.{line}.net`,
/// `vat.{line}.vat`, and `vat` for the lines as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VatForm {
    pub lines: Vec<VatInput>,
}

/// Which errors an edit makes stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stale {
    /// The one field edited (and, for a VAT field, the lines' total).
    Field(String),
    /// Every VAT error: the lines moved.
    All,
}

impl Stale {
    /// Whether the error keyed `key` no longer applies.
    pub fn covers(&self, key: &str) -> bool {
        match self {
            Stale::Field(field) => key == field || (key == "vat" && field.starts_with("vat")),
            Stale::All => key == "vat" || key.starts_with("vat."),
        }
    }
}

impl VatForm {
    /// The lines as the document holds them.
    pub fn of(lines: &[VatLine], currency: &str) -> Self {
        VatForm {
            lines: lines
                .iter()
                .map(|l| VatInput {
                    rate: percent_input(l.rate_bp),
                    net: format::amount_input(l.net_minor, currency),
                    vat: format::amount_input(l.vat_minor, currency),
                })
                .collect(),
        }
    }

    pub fn can_add(&self) -> bool {
        self.lines.len() < kvits_domain::MAX_VAT_LINES
    }

    /// Applies one edit; an edit of a line that is not there changes nothing.
    pub fn edit(&mut self, edit: VatEdit) -> Stale {
        match edit {
            VatEdit::Rate { line, value } => self.set(line, "rate", value, |l| &mut l.rate),
            VatEdit::Net { line, value } => self.set(line, "net", value, |l| &mut l.net),
            VatEdit::Amount { line, value } => self.set(line, "vat", value, |l| &mut l.vat),
            VatEdit::Add => {
                if self.can_add() {
                    self.lines.push(VatInput::default());
                }
                Stale::Field("vat".into())
            }
            VatEdit::Remove { line } => {
                if (line as usize) < self.lines.len() {
                    self.lines.remove(line as usize);
                }
                Stale::All
            }
        }
    }

    fn set(
        &mut self,
        line: u32,
        key: &str,
        value: String,
        field: impl FnOnce(&mut VatInput) -> &mut String,
    ) -> Stale {
        if let Some(l) = self.lines.get_mut(line as usize) {
            *field(l) = value;
        }
        Stale::Field(format!("vat.{line}.{key}"))
    }

    /// The lines as amounts in `currency`, or what is wrong with them by field.
    ///
    /// A line with a rate and neither amount takes what the other lines leave of the
    /// document's `gross` amount, split by its rate (VAT = gross × rate / (100 % + rate),
    /// rounded to the currency's smallest unit): on a receipt with one rate, the rate is all
    /// one types. Lines that do not add up to the amount are refused as the domain would.
    pub fn read(
        &self,
        currency: &str,
        gross: Option<&Money>,
    ) -> Result<Vec<VatLine>, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut read: Vec<(u32, Option<(i64, i64)>)> = Vec::new();
        for (n, l) in self.lines.iter().enumerate() {
            let rate = parse_rate(&l.rate).map_err(|m| (format!("vat.{n}.rate"), m));
            let amount = |input: &str, key: &str| {
                format::parse_amount(input, currency).map_err(|m| (format!("vat.{n}.{key}"), m))
            };
            match (rate, amount(&l.net, "net"), amount(&l.vat, "vat")) {
                (Ok(rate_bp), Ok(Some(net)), Ok(Some(vat))) => {
                    read.push((rate_bp, Some((net, vat))))
                }
                (Ok(rate_bp), Ok(None), Ok(None)) => read.push((rate_bp, None)),
                (Ok(_), Ok(net), Ok(_)) => {
                    let missing = if net.is_none() { "net" } else { "vat" };
                    errors.push((
                        format!("vat.{n}.{missing}"),
                        "Enter both amounts, or neither to split the rest by the rate.".into(),
                    ));
                }
                (r, n, v) => errors.extend([r.err(), n.err(), v.err()].into_iter().flatten()),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let open: Vec<usize> = (0..read.len()).filter(|&i| read[i].1.is_none()).collect();
        if let Some(&first) = open.first() {
            let Some(gross) = gross else {
                return Err(vec![(
                    format!("vat.{first}.net"),
                    "Enter the amounts, or the document's amount to split by the rate.".into(),
                )]);
            };
            if open.len() > 1 {
                return Err(vec![(
                    format!("vat.{}.net", open[1]),
                    "Only one line can take the rest; enter this line's amounts.".into(),
                )]);
            }
            let entered: i64 = read.iter().filter_map(|(_, a)| a.map(|(n, v)| n + v)).sum();
            let rest = gross.amount_minor - entered;
            if rest < 0 {
                return Err(vec![(
                    "vat".into(),
                    "The other lines already add up to more than the amount.".into(),
                )]);
            }
            let vat = vat_of_gross(rest, read[first].0);
            read[first].1 = Some((rest - vat, vat));
        }
        let lines: Vec<VatLine> = read
            .into_iter()
            .filter_map(|(rate_bp, amounts)| {
                let (net_minor, vat_minor) = amounts?;
                Some(VatLine {
                    rate_bp,
                    net_minor,
                    vat_minor,
                })
            })
            .collect();
        kvits_domain::check_vat(&lines, gross).map_err(|e| {
            vec![(
                "vat".into(),
                format!("{}.", format::sentence(&e.to_string())),
            )]
        })?;
        Ok(lines)
    }

    /// What the lines typed add up to (net + VAT), when every line reads as amounts.
    pub fn total(&self, currency: &str) -> Option<i64> {
        if self.lines.is_empty() {
            return None;
        }
        self.lines.iter().try_fold(0i64, |sum, l| {
            let net = format::parse_amount(&l.net, currency).ok().flatten()?;
            let vat = format::parse_amount(&l.vat, currency).ok().flatten()?;
            sum.checked_add(net)?.checked_add(vat)
        })
    }
}

/// The VAT in a gross amount at `rate_bp` hundredths of a percent, to the nearest unit.
fn vat_of_gross(gross: i64, rate_bp: u32) -> i64 {
    let rate = i128::from(rate_bp);
    let gross = i128::from(gross);
    let vat = (gross * rate * 2 + (10_000 + rate)) / ((10_000 + rate) * 2);
    // The quotient is at most `gross`, which came from an i64.
    i64::try_from(vat).unwrap_or(0)
}

/// `21`, `5.5`: a rate in hundredths of a percent as the form shows it.
fn percent_input(rate_bp: u32) -> String {
    kvits_protocol::percent_text(rate_bp)
        .trim_end_matches(" %")
        .to_string()
}

/// A rate typed in percent (`21`, `5.5`, `5,5 %`) in hundredths of a percent.
pub(crate) fn parse_rate(input: &str) -> Result<u32, String> {
    let cleaned: String = input.trim().trim_end_matches('%').trim().replace(',', ".");
    let invalid = || {
        format!(
            "“{}” is not a VAT rate; write it like 21 or 5.5",
            input.trim()
        )
    };
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 3
    {
        return Err(invalid());
    }
    let whole: u32 = whole.parse().map_err(|_| invalid())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let bp = whole * 100 + fraction;
    if bp > 10_000 {
        return Err("a VAT rate is at most 100 %".into());
    }
    Ok(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount_minor: i64) -> Money {
        Money {
            amount_minor,
            currency: "EUR".into(),
        }
    }

    fn form(lines: &[(&str, &str, &str)]) -> VatForm {
        VatForm {
            lines: lines
                .iter()
                .map(|(rate, net, vat)| VatInput {
                    rate: (*rate).into(),
                    net: (*net).into(),
                    vat: (*vat).into(),
                })
                .collect(),
        }
    }

    fn line(rate_bp: u32, net_minor: i64, vat_minor: i64) -> VatLine {
        VatLine {
            rate_bp,
            net_minor,
            vat_minor,
        }
    }

    #[test]
    fn rates_are_read_as_people_type_them() {
        assert_eq!(parse_rate("21"), Ok(2100));
        assert_eq!(parse_rate("5.5"), Ok(550));
        assert_eq!(parse_rate("5,5 %"), Ok(550));
        assert_eq!(parse_rate(" 0 "), Ok(0));
        assert_eq!(parse_rate("12.34"), Ok(1234));
        assert_eq!(parse_rate("100"), Ok(10_000));
        for bad in ["", "%", "abc", "21.555", "-5", "101", "1e2", "2 1"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rate_alone_splits_what_the_other_lines_leave() {
        // 30.00 EUR at 21 %: VAT 5.21, net 24.79.
        let one = form(&[("21", "", "")]);
        assert_eq!(
            one.read("EUR", Some(&eur(3000))),
            Ok(vec![line(2100, 2479, 521)])
        );
        // A food line typed in full, the rest at 24 %.
        let two = form(&[("14", "10,00", "1,40"), ("24", "", "")]);
        assert_eq!(
            two.read("EUR", Some(&eur(1140 + 1240))),
            Ok(vec![line(1400, 1000, 140), line(2400, 1000, 240)])
        );
        // Zero decimals: 1 100 JPY at 10 % is 1 000 + 100.
        let yen = form(&[("10", "", "")]);
        let jpy = Money {
            amount_minor: 1100,
            currency: "JPY".into(),
        };
        assert_eq!(yen.read("JPY", Some(&jpy)), Ok(vec![line(1000, 1000, 100)]));
    }

    #[test]
    fn lines_that_cannot_be_read_say_where() {
        let key = |f: VatForm, gross: Option<Money>| -> Vec<String> {
            f.read("EUR", gross.as_ref())
                .expect_err("refused")
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(key(form(&[("x", "1", "1")]), None), ["vat.0.rate"]);
        assert_eq!(key(form(&[("21", "10", "")]), None), ["vat.0.vat"]);
        assert_eq!(key(form(&[("21", "", "")]), None), ["vat.0.net"]);
        assert_eq!(
            key(form(&[("21", "", ""), ("10", "", "")]), Some(eur(100))),
            ["vat.1.net"]
        );
        assert_eq!(key(form(&[("21", "10", "2.10")]), Some(eur(1300))), ["vat"]);
        assert_eq!(
            key(form(&[("21", "10", "2.10"), ("21", "1", "0.21")]), None),
            ["vat"]
        );
        assert_eq!(
            key(
                form(&[("21", "20", "4.20"), ("10", "", "")]),
                Some(eur(100))
            ),
            ["vat"]
        );
        let Err(errors) = form(&[("21", "10", "2.10")]).read("EUR", Some(&eur(1300))) else {
            panic!("lines off the amount were accepted");
        };
        assert_eq!(
            errors[0].1,
            "The VAT lines add up to 12.10 EUR, but the document's amount is 13.00 EUR."
        );
    }

    #[test]
    fn removing_a_line_makes_every_line_error_stale() {
        let mut f = form(&[("21", "", ""), ("10", "", "")]);
        assert_eq!(f.edit(VatEdit::Remove { line: 0 }), Stale::All);
        assert_eq!(f.lines.len(), 1);
        assert_eq!(f.lines[0].rate, "10");
        let stale = f.edit(VatEdit::Net {
            line: 0,
            value: "5".into(),
        });
        assert!(stale.covers("vat.0.net") && stale.covers("vat") && !stale.covers("vat.0.rate"));
        // Editing a line that is not there changes nothing.
        f.edit(VatEdit::Rate {
            line: 7,
            value: "1".into(),
        });
        assert_eq!(f.lines.len(), 1);
        for _ in 0..20 {
            f.edit(VatEdit::Add);
        }
        assert_eq!(f.lines.len(), kvits_domain::MAX_VAT_LINES);
    }

    proptest::proptest! {
        #[test]
        fn a_split_adds_up_to_the_gross(gross in 0i64..1_000_000_000_000, rate in 0u32..=10_000) {
            let vat = vat_of_gross(gross, rate);
            proptest::prop_assert!((0..=gross).contains(&vat));
            // VAT is the rate of the net to within half a unit.
            let net = gross - vat;
            let exact = i128::from(net) * i128::from(rate);
            proptest::prop_assert!((i128::from(vat) * 10_000 - exact).abs() <= 10_000 + i128::from(rate));
        }
    }
}

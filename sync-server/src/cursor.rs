//! The pull cursor as clients see it: the firm's change counter (which moves with every change
//! in every client company of the firm) enciphered under a random key of the firm's own
//! (`firms.cursor_key`). A client contact who pulls twice cannot tell from the two cursors how
//! much the firm's other companies did in between; the server reads the counter back exactly.
//!
//! The cipher is a four-round Feistel network over the 64 bits, each round's function the
//! first 32 bits of SHA-256(key, round, half): a keyed permutation of `u64`, which is all a
//! cursor needs (nothing secret is protected by it beyond the count). `0` stays `0`: it means
//! "from the start" both ways.

use kvits_protocol::FirmId;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

const ROUNDS: u8 = 4;

/// A firm's cursor key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorKey([u8; 16]);

impl CursorKey {
    /// The key of `firm`, as its row holds it.
    pub fn of_firm(c: &Connection, firm: FirmId) -> ApiResult<CursorKey> {
        let hex_key: String = c
            .prepare_cached("SELECT cursor_key FROM firms WHERE id = ?1")?
            .query_row([firm.to_string()], |r| r.get(0))?;
        let mut key = [0u8; 16];
        hex::decode_to_slice(hex_key.as_bytes(), &mut key)
            .map_err(|e| ApiError::internal(format!("firm {firm}'s cursor key: {e}")))?;
        Ok(CursorKey(key))
    }

    fn round(&self, round: u8, half: u32) -> u32 {
        let digest = Sha256::new()
            .chain_update(self.0)
            .chain_update([round])
            .chain_update(half.to_be_bytes())
            .finalize();
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    }

    /// The cursor a client is given for the counter `version`.
    pub fn seal(&self, version: u64) -> u64 {
        if version == 0 {
            return 0;
        }
        let (mut left, mut right) = ((version >> 32) as u32, version as u32);
        for round in 0..ROUNDS {
            (left, right) = (right, left ^ self.round(round, right));
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    /// The counter a client's `cursor` stands for.
    pub fn open(&self, cursor: u64) -> u64 {
        if cursor == 0 {
            return 0;
        }
        let (mut left, mut right) = ((cursor >> 32) as u32, cursor as u32);
        for round in (0..ROUNDS).rev() {
            (left, right) = (right ^ self.round(round, left), left);
        }
        (u64::from(left) << 32) | u64::from(right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cursor_opens_to_the_counter_it_was_sealed_from(key: [u8; 16], version: u64) {
            let key = CursorKey(key);
            prop_assert_eq!(key.open(key.seal(version)), version);
        }
    }

    #[test]
    fn consecutive_counters_give_cursors_that_say_nothing_of_their_distance() {
        let key = CursorKey(*b"sixteen byte key");
        let cursors: Vec<u64> = (1..=1000).map(|v| key.seal(v)).collect();
        // Not in order, and far apart: the count of changes between two pulls is not there.
        let ascending = cursors.windows(2).filter(|w| w[0] < w[1]).count();
        assert!(
            (350..=650).contains(&ascending),
            "{ascending} of 999 ascend"
        );
        assert!(cursors.windows(2).all(|w| w[0].abs_diff(w[1]) > 1000));
        assert_eq!(key.seal(0), 0);
        assert_eq!(key.open(0), 0);
        // Another firm's key seals the same counter differently.
        assert_ne!(CursorKey(*b"another firm key").seal(42), key.seal(42));
    }
}

//! A tiny deterministic generator (SplitMix64), so derived fixtures are the same on every machine.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal noise with standard deviation `sigma` (sum of four uniforms).
    pub fn noise(&mut self, sigma: f32) -> f32 {
        let r = self.next_u64();
        let s: u32 = (0..4).map(|i| ((r >> (i * 16)) & 0xFFFF) as u32).sum();
        // Four uniforms on [0, 65535] have mean 131070 and standard deviation ~37837.
        (s as f32 - 131_070.0) / 37_837.0 * sigma
    }
}

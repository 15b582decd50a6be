//! The seeded generator: the only source of randomness. Ids, task tokens,
//! UUIDs, `States.MathRandom` and retry jitter all draw from one generator
//! seeded per execution, so the same scenario gives byte-identical histories.

/// A stable 64-bit hash of `bytes` (FNV-1a): seeds and names derived from
/// text (a task token, a definition, a logical id) that are the same on
/// every run and machine.
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
}

/// A small, fast, seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that starts from `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A version-4 UUID.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        // 8-4-4-4-12 digits, written in place and checked as text once
        let mut buf = [b'-'; 36];
        hex_digits(&mut buf[0..8], a >> 32);
        hex_digits(&mut buf[9..13], (a >> 16) & 0xFFFF);
        hex_digits(&mut buf[14..18], a & 0xFFFF);
        hex_digits(&mut buf[19..23], b >> 48);
        hex_digits(&mut buf[24..36], b & 0xFFFF_FFFF_FFFF);
        String::from(std::str::from_utf8(&buf).unwrap_or_default())
    }

    /// 64 hex digits: a task token.
    pub(crate) fn token(&mut self) -> String {
        let mut buf = [0u8; 64];
        for chunk in buf.chunks_mut(16) {
            hex_digits(chunk, self.next_u64());
        }
        String::from(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// The low `out.len()` hex digits of `x` into `out`, most significant first.
fn hex_digits(out: &mut [u8], x: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // a byte's two digits at a time (every task attempt draws a 64-digit token)
    const PAIRS: [[u8; 2]; 256] = {
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [HEX[i >> 4], HEX[i & 0xf]];
            i += 1;
        }
        t
    };
    let n = out.len();
    let (odd, pairs) = out.split_at_mut(n % 2);
    if let Some(first) = odd.first_mut() {
        *first = HEX[((x >> ((n - 1) * 4)) & 0xf) as usize];
    }
    let m = pairs.len() / 2;
    for (i, two) in pairs.chunks_exact_mut(2).enumerate() {
        let byte = (x >> ((m - 1 - i) * 8)) & 0xff;
        two.copy_from_slice(&PAIRS[byte as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.uuid().len(), 36);
        let f = a.next_f64();
        assert!((0.0..1.0).contains(&f));
    }

    #[test]
    fn ids_are_zero_padded_hex() {
        let hex = |x: u64, digits: usize| {
            let mut buf = [0u8; 16];
            hex_digits(&mut buf[..digits], x);
            String::from_utf8(buf[..digits].to_vec()).unwrap()
        };
        assert_eq!(hex(0xab, 4), "00ab");
        for (x, digits) in
            [(0xabcu64, 3), (0x1_2345_6789_abcd, 12), (u64::MAX, 16), (7, 1), (0x5f, 5)]
        {
            let want = format!("{x:0digits$x}");
            assert_eq!(hex(x, digits), want[want.len() - digits..]);
        }
        let mut r = Rng::new(9);
        let want: String = (0..4).map(|_| format!("{:016x}", r.next_u64())).collect();
        assert_eq!(Rng::new(9).token(), want);
        let mut r = Rng::new(9);
        let (a, b) = (r.next_u64(), r.next_u64());
        let (a, b) = ((a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000, (b & (u64::MAX >> 2)) | (1 << 63));
        let want = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        );
        assert_eq!(Rng::new(9).uuid(), want);
    }
}

//! Salesforce record ids: 15 case-sensitive characters (a 3-character key prefix naming the
//! object, `5g0` standing for pod and reserved characters, 9 base-62 digits of the record number)
//! plus the 3-character case-insensitive suffix Salesforce derives from the capitalisation, so
//! the 18-character form survives case-insensitive systems. The record number is the store's id.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const POD: &str = "5g0";
const DIGITS: usize = 9;

/// The 3-character suffix: for each 5-character chunk, a bit per upper-case letter.
fn suffix(id15: &[u8]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in id15.chunks(5).zip(out.iter_mut()) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        *slot = SUFFIX[bits];
    }
    out
}

/// The 18-character id of record `n` of the object with key `prefix` (`003`, `001`, `006`).
pub(crate) fn encode(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; DIGITS];
    let mut rest = n;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let mut id = format!("{prefix}{POD}{}", String::from_utf8_lossy(&digits));
    let tail = suffix(id.as_bytes());
    id.push_str(&String::from_utf8_lossy(&tail));
    id
}

/// The record number of a 15- or 18-character id with key `prefix`; `None` for anything else
/// (another object's id, a bad suffix, characters outside base 62).
pub(crate) fn decode(prefix: &str, id: &str) -> Option<u64> {
    let bytes = id.as_bytes();
    if !(bytes.len() == 15 || bytes.len() == 18) || !id.is_ascii() {
        return None;
    }
    if &id[..3] != prefix || &id[3..6] != POD {
        return None;
    }
    if bytes.len() == 18 && !suffix(&bytes[..15]).eq_ignore_ascii_case(&bytes[15..]) {
        return None;
    }
    bytes[6..15].iter().try_fold(0u64, |acc, c| {
        let digit = BASE62.iter().position(|b| b == c)? as u64;
        acc.checked_mul(62)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_with_the_right_prefix_and_suffix() {
        for n in [1u64, 61, 62, 4_500, 1 << 40] {
            let id = encode("003", n);
            assert_eq!(id.len(), 18, "{id}");
            assert!(id.starts_with("0035g0"), "{id}");
            assert_eq!(decode("003", &id), Some(n));
            assert_eq!(decode("003", &id[..15]), Some(n));
            assert_eq!(decode("001", &id), None);
        }
        // The suffix encodes the capitalisation: a changed case no longer matches it.
        let id = encode("003", 36);
        assert_eq!(&id[6..15], "00000000a");
        assert_eq!(decode("003", &id.replace('a', "A")), None);
        assert_eq!(decode("003", "003"), None);
        assert_eq!(decode("003", "0035g0!!!!!!!!!AAA"), None);
    }

    #[test]
    fn suffix_matches_salesforce_for_a_known_id() {
        // 15 → 18 from Salesforce's documentation example pattern: an all-lower/digit id gets
        // "AAA", and an upper-case letter at position 0 of a chunk sets bit 0 ("B").
        assert_eq!(&suffix(b"001000000000000"), b"AAA");
        assert_eq!(&suffix(b"A0100000000000Z"), b"BAQ");
    }
}

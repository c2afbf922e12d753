//! A job or instance id as people type it: the full UUID, the last 8 hex digits (what the console
//! shows: ids are UUID v7, whose first digits are a timestamp that jobs started together share), or
//! a prefix of at least [`IdMatch::MIN_DIGITS`] hex digits. Lists filter on it
//! ([`JobFilter::id`](crate::JobFilter::id)) with a bounded lookup: a prefix is a range of the
//! primary key, and the last 8 digits have an index of their own (migration 0010).

use uuid::Uuid;

/// The ids a typed fragment may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMatch {
    /// Ids from `low` to `high` (both included) start with the fragment.
    pub low: Uuid,
    pub high: Uuid,
    /// With exactly 8 digits: the id's last 4 bytes, which the fragment may also be.
    pub tail: Option<[u8; 4]>,
}

impl IdMatch {
    /// The fewest hex digits a fragment has.
    pub const MIN_DIGITS: usize = 4;
    /// How many digits the console shows (the last ones).
    pub const TAIL_DIGITS: usize = 8;

    /// `None` when `text` is not made of hex digits (hyphens aside) or has fewer than
    /// [`MIN_DIGITS`](Self::MIN_DIGITS) or more than 32.
    pub fn parse(text: &str) -> Option<IdMatch> {
        let digits: String = text.trim().chars().filter(|c| *c != '-').collect();
        if !(Self::MIN_DIGITS..=32).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let padded = |fill: char| {
            let hex: String = digits.chars().chain(std::iter::repeat(fill)).take(32).collect();
            Uuid::parse_str(&hex).ok()
        };
        let tail = (digits.len() == Self::TAIL_DIGITS).then(|| {
            let value = u32::from_str_radix(&digits, 16).unwrap_or_default();
            value.to_be_bytes()
        });
        Some(IdMatch {
            low: padded('0')?,
            high: padded('f')?,
            tail,
        })
    }

    /// The one id a full UUID names.
    pub fn exact(&self) -> Option<Uuid> {
        (self.low == self.high).then_some(self.low)
    }

    /// Whether `id` is one of the ids the fragment may stand for.
    pub fn matches(&self, id: Uuid) -> bool {
        (self.low..=self.high).contains(&id) || self.tail.is_some_and(|tail| id.as_bytes()[12..] == tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_prefixes_and_eight_digits_also_the_tail() {
        let id = Uuid::parse_str("0193a4b2-7c1e-7d00-8a3f-1234abcd9876").unwrap();
        let full = IdMatch::parse("0193a4b2-7c1e-7d00-8a3f-1234abcd9876").unwrap();
        assert_eq!(full.exact(), Some(id));
        let tail = IdMatch::parse("abcd9876").unwrap();
        assert!(tail.matches(id) && tail.exact().is_none());
        let prefix = IdMatch::parse("0193A4B2-7c").unwrap();
        assert!(prefix.matches(id) && prefix.tail.is_none());
        assert!(IdMatch::parse("0193").unwrap().matches(id));
        assert!(!IdMatch::parse("0194").unwrap().matches(id));
        assert!(!IdMatch::parse("abcd9877").unwrap().matches(id));
    }

    #[test]
    fn short_or_not_hex_is_no_fragment() {
        for text in ["", "019", "01g3", "0193 a4", "0193a4b27c1e7d008a3f1234abcd98760"] {
            assert_eq!(IdMatch::parse(text), None, "{text}");
        }
    }
}

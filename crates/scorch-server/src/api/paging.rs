//! Pages of lists: `limit` and `offset`, bounded alike on both HTTP roles.

use super::error::ApiError;

const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 500;

/// `limit` (default 50, 1 to 500) and `offset` (default 0).
pub fn page(limit: Option<u32>, offset: Option<u32>) -> Result<(u32, u32), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is not between 1 and {MAX_LIMIT}"
        )));
    }
    Ok((limit, offset.unwrap_or(0)))
}

/// The next page's offset when this one was full.
pub fn next_offset(len: usize, limit: u32, offset: u32) -> Option<u32> {
    (len >= limit as usize).then(|| offset.saturating_add(limit))
}

//! The size check every reader runs before it parses: a length against its limit, failing
//! with the reader's own error.

/// `Ok` when `len` is at most `max`, else the error `too_large(len, max)` builds.
///
/// # Errors
/// What `too_large` returns.
pub fn at_most<E>(
    len: usize,
    max: usize,
    too_large: impl FnOnce(usize, usize) -> E,
) -> Result<(), E> {
    if len > max {
        return Err(too_large(len, max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::at_most;

    #[test]
    fn the_limit_itself_passes_one_more_fails() {
        assert_eq!(at_most(10, 10, |len, max| (len, max)), Ok(()));
        assert_eq!(at_most(11, 10, |len, max| (len, max)), Err((11, 10)));
    }
}

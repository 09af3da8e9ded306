//! `--range A..B` and `--shard K/N`: which indices one process writes, for `forge sample` and
//! `forge run` alike.

use std::ops::Range;

/// `--shard K/N`: the K-th (from 0) of N contiguous slices. K may be `env`: the shard number
/// is then read from `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) or
/// `SLURM_ARRAY_TASK_ID` (a Slurm job array), whichever is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shard {
    /// `None`: from the environment.
    k: Option<u64>,
    n: u64,
}

/// The environment variables `--shard env/N` reads, in order.
pub(crate) const SHARD_VARS: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

pub(crate) fn parse_shard(value: &str) -> Result<Shard, String> {
    let (k, n) = value
        .split_once('/')
        .ok_or_else(|| "expected K/N (e.g. 3/8) or env/N".to_owned())?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("the shard count `{n}` is not an integer ≥ 1"))?;
    let k = if k == "env" {
        None
    } else {
        let k: u64 = k
            .parse()
            .map_err(|_| format!("the shard number `{k}` is not an integer ≥ 0 (or `env`)"))?;
        if k >= n {
            return Err(format!(
                "shard {k} of {n}: shards are numbered 0 to {}",
                n - 1
            ));
        }
        Some(k)
    };
    Ok(Shard { k, n })
}

pub(crate) fn parse_range(value: &str) -> Result<Range<u64>, String> {
    let (a, b) = value
        .split_once("..")
        .ok_or_else(|| "expected A..B (e.g. 0..1000), B excluded".to_owned())?;
    let a: u64 = a
        .parse()
        .map_err(|_| format!("`{a}` is not an integer ≥ 0"))?;
    let b: u64 = b
        .parse()
        .map_err(|_| format!("`{b}` is not an integer ≥ 0"))?;
    if a > b {
        return Err(format!("the range {a}..{b} is reversed"));
    }
    Ok(a..b)
}

impl Shard {
    /// The shard number: given, or read from the environment.
    fn number(self) -> Result<u64, String> {
        if let Some(k) = self.k {
            return Ok(k);
        }
        for var in SHARD_VARS {
            if let Ok(value) = std::env::var(var) {
                let k: u64 = value.trim().parse().map_err(|_| {
                    format!("--shard env/{}: {var}={value:?} is not an integer", self.n)
                })?;
                if k >= self.n {
                    return Err(format!(
                        "--shard env/{}: {var}={k}, but shards are numbered 0 to {}",
                        self.n,
                        self.n - 1
                    ));
                }
                return Ok(k);
            }
        }
        Err(format!(
            "--shard env/{}: neither {} nor {} is set",
            self.n, SHARD_VARS[0], SHARD_VARS[1]
        ))
    }

    /// Slice `k` of `0..count`: `count·k/N .. count·(k+1)/N`.
    fn of(self, count: u64) -> Result<Range<u64>, String> {
        let k = self.number()?;
        let at = |k: u64| (u128::from(count) * u128::from(k) / u128::from(self.n)) as u64;
        Ok(at(k)..at(k + 1))
    }
}

/// The indices to write: `--range`, else `--shard` of `0..count`, else `0..count`.
pub(crate) fn resolve(
    count: Option<u64>,
    range: Option<Range<u64>>,
    shard: Option<Shard>,
    count_flag: &str,
) -> Result<Range<u64>, String> {
    match (range, shard, count) {
        (Some(_), Some(_), _) => Err("give --range or --shard, not both".into()),
        (Some(r), None, _) => Ok(r),
        (None, Some(s), Some(n)) => s.of(n),
        (None, Some(_), None) => Err(format!("--shard K/N slices 0..N of {count_flag}: give it")),
        (None, None, Some(n)) => Ok(0..n),
        (None, None, None) => Err(format!("give {count_flag} (or --range A..B)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_range() {
        let mut next = 0;
        for k in 0..7 {
            let r = parse_shard(&format!("{k}/7")).unwrap().of(100).unwrap();
            assert_eq!(r.start, next);
            next = r.end;
        }
        assert_eq!(next, 100);
        assert!(parse_shard("7/7").unwrap_err().contains("numbered 0 to 6"));
        assert!(parse_shard("1/0").is_err());
        assert_eq!(parse_range("3..9").unwrap(), 3..9);
        assert!(parse_range("9..3").unwrap_err().contains("reversed"));
    }
}

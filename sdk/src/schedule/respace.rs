//! Timestep respacing (reference `diffusion.py:space_timesteps`, docs/reference.md §1.2).

use crate::PluginError;

/// The original timesteps kept when sampling `total` training steps with `spec`,
/// ascending. `spec` is the reference's string:
///
/// - `"K"`: K steps at a fractional stride `(total−1)/(K−1)`, accumulated in float64
///   and rounded half to even, exactly as the reference (`"100"` keeps
///   `0, 10, …, 50, 61, …, 999`, not a plain stride of 10);
/// - `"K1,K2,…"`: the range cut into equal sections, `Ki` steps from section `i`;
/// - `"ddimK"`: the smallest integer stride that gives exactly K steps from 0.
///
/// ```
/// let kept = infty_sdk::schedule::space_timesteps(1000, "10").unwrap();
/// assert_eq!(kept, [0, 111, 222, 333, 444, 555, 666, 777, 888, 999]);
/// ```
pub fn space_timesteps(total: usize, spec: &str) -> Result<Vec<usize>, PluginError> {
    let bad = |message: String| Err(PluginError::invalid_param("steps", message));
    let spec = spec.trim();
    if total == 0 {
        return bad("the training schedule has no steps".to_string());
    }
    if let Some(count) = spec.strip_prefix("ddim") {
        let count = parse_count(count, spec)?;
        return match (1..total).find(|stride| total.div_ceil(*stride) == count) {
            Some(stride) => Ok((0..total).step_by(stride).collect()),
            None => bad(format!(
                "cannot take exactly {count} steps of {total} with an integer stride (ddim{count})"
            )),
        };
    }
    let counts = spec.split(',').map(|c| parse_count(c, spec)).collect::<Result<Vec<_>, _>>()?;
    let (size_per, extra) = (total / counts.len(), total % counts.len());
    let mut kept = Vec::new();
    let mut start = 0;
    for (i, &count) in counts.iter().enumerate() {
        let size = size_per + usize::from(i < extra);
        if size < count {
            return bad(format!(
                "cannot take {count} steps from a section of {size} (the model was trained with {total} steps)"
            ));
        }
        let stride = if count <= 1 { 1.0 } else { (size - 1) as f64 / (count - 1) as f64 };
        let mut cur = 0.0f64;
        for _ in 0..count {
            kept.push(start + cur.round_ties_even() as usize);
            cur += stride;
        }
        start += size;
    }
    kept.sort_unstable();
    kept.dedup();
    Ok(kept)
}

fn parse_count(text: &str, spec: &str) -> Result<usize, PluginError> {
    match text.trim().parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        Ok(_) => Err(PluginError::invalid_param("steps", format!("'{spec}' asks for zero steps"))
            .with_help("give at least 1 step, e.g. --steps 100")),
        Err(_) => Err(PluginError::invalid_param("steps", format!("'{spec}' is not a step count"))
            .with_help("give K (e.g. 100), ddimK (e.g. ddim50) or sections (e.g. 10,20,30)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundred_steps_follow_the_fractional_stride() {
        let kept = space_timesteps(1000, "100").unwrap();
        assert_eq!(kept.len(), 100);
        assert_eq!(&kept[..8], &[0, 10, 20, 30, 40, 50, 61, 71]);
        assert_eq!(&kept[97..], &[979, 989, 999]);
        assert_eq!(&space_timesteps(1000, "50").unwrap()[..5], &[0, 20, 41, 61, 82]);
    }

    #[test]
    fn ddim_uses_an_integer_stride_and_sections_split_the_range() {
        let kept = space_timesteps(1000, "ddim10").unwrap();
        assert_eq!(kept, (0..1000).step_by(100).collect::<Vec<_>>());
        assert_eq!(space_timesteps(1000, "1000").unwrap(), (0..1000).collect::<Vec<_>>());
        assert_eq!(space_timesteps(10, "2,3").unwrap(), [0, 4, 5, 7, 9]);
        assert_eq!(space_timesteps(1000, "1").unwrap(), [0]);
    }

    #[test]
    fn impossible_requests_are_clear_errors() {
        for (spec, says) in [
            ("0", "asks for zero steps"),
            ("2000", "cannot take 2000 steps from a section of 1000"),
            ("ddim999", "cannot take exactly 999 steps of 1000"),
            ("fast", "is not a step count"),
            ("", "is not a step count"),
        ] {
            let err = space_timesteps(1000, spec).unwrap_err();
            assert!(err.message.contains(says), "{spec}: {err}");
            assert_eq!(err.param.as_ref().into_option().map(|p| p.as_str()), Some("steps"));
        }
    }
}

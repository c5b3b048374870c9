//! How much memory the machine can give now: what the memory checks of model loading,
//! sampling and tiled writing compare their needs with, before allocating.

/// `MemAvailable` of /proc/meminfo in bytes (what the kernel can hand out without
/// swapping); `None` where there is none.
pub fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn linux_reports_available_memory() {
        if cfg!(target_os = "linux") {
            assert!(super::available_bytes().is_some_and(|b| b > 0));
        }
    }
}

//! Run-time CPU feature detection for the few hand-vectorized loops (built for the baseline
//! target, with AVX2 + FMA copies chosen here when the CPU has them).

/// Whether the CPU supports AVX2 and FMA (detected once).
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED
            .get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

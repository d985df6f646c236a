import CSGDCore

/// The purpose of the random inputs the fuzzer makes up (the synthetic data
/// sets' value).
extension RandomPurpose { static let test = RandomPurpose.syntheticData }

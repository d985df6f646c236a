import CSGDCore

/// The purpose of the random inputs the tests make up (the synthetic data
/// sets' value: tests never draw next to a synthetic data set's samples).
extension RandomPurpose { static let test = RandomPurpose.syntheticData }

import CSGDCore

extension RandomPurpose {
    /// The inputs a measurement makes up (vectors to compress, random
    /// batches): a value the library leaves free, so a benchmark's draws are
    /// never those of a run.
    public static let benchmark = RandomPurpose(rawValue: 9)
}

/// Which half of a data set to load: the training split or the held-out
/// test split (MNIST's `train-*`/`t10k-*` files, CIFAR-10's
/// `data_batch_*`/`test_batch`, or the synthetic generator's two streams).
public enum DatasetSplit: String, Sendable, CaseIterable, CustomStringConvertible {
    case train
    case test

    public var description: String { rawValue }
}

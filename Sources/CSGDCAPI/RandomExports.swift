import CSGDCore

/// out[j] = σ·z_j, z the Gaussian stream of the key (seed, step, worker,
/// purpose) (`RandomFill.gaussian`): the vectors csgd itself draws, e.g.
/// those `csgd compress` measures (purpose 9, the shared worker).
@_cdecl("csgd_gaussian")
public func csgd_gaussian(_ seed: UInt64, _ step: UInt64, _ worker: UInt32, _ purpose: UInt8, _ sigma: Float,
                          _ out: UnsafeMutablePointer<Float>?, _ d: Int64,
                          _ err: UnsafeMutablePointer<CChar>?, _ errlen: Int) -> Int32 {
    reportingStatus(err, errlen) {
        let key = try randomKey(seed: seed, step: step, worker: worker, purpose: purpose)
        RandomFill.gaussian(key, sigma: sigma, into: try mutableBuffer(out, Int(d), "the output vector"))
    }
}

import CSGDCore

/// What this `csgd` binary is: the library's version (`CSGDVersion`) and the
/// git commit its sources were built from. The commit is read at build time
/// by the GitCommit build-tool plugin (Plugins/GitCommit), which runs local
/// `git` on the package directory and writes `BuildInfo.commit` and
/// `BuildInfo.modified` into a generated source file; outside a git
/// checkout (a source tarball) the commit is nil and reported as unknown.
enum BuildInfo {
    /// `csgd 0.1.0 (commit abcdef1)`, `csgd 0.1.0 (commit abcdef1, modified)`
    /// or `csgd 0.1.0 (commit unknown)`: what `csgd --version` prints.
    static var versionLine: String {
        "csgd \(CSGDVersion.number) (commit \(commit ?? "unknown")\(commit != nil && modified ? ", modified" : ""))"
    }
}

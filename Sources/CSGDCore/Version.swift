/// csgd's version (semantic versioning: MAJOR.MINOR.PATCH), the one
/// constant `csgd --version` and every run's log header report beside the
/// git commit of the build.
public enum CSGDVersion {
    /// The version of the library and the tool.
    public static let number = "0.1.0"
}

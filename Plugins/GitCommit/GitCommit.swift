import Foundation
import PackagePlugin

/// Records, at every build of `csgd`, which git commit the sources are and
/// whether tracked files differ from it, as `GitCommit.swift` in the
/// target's generated sources (`csgd --version`, and the header of every
/// run's log).
///
/// Why a prebuild command: the commit must be read at build time (a binary
/// copied elsewhere still knows it), with no network, and must never be a
/// committed file that goes stale. The command is `/bin/sh` running local
/// `git` on the package's own directory; it rewrites the file only when its
/// text changes, so an unchanged checkout recompiles nothing. Outside a git
/// checkout (a release tarball, an unpacked archive inside some other
/// repository, no `git` installed) the commit is unknown and the build goes
/// on.
@main
struct GitCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        let staging = context.pluginWorkDirectoryURL.appendingPathComponent("GitCommit.swift.next")
        return [.prebuildCommand(
            displayName: "Recording the git commit of \(target.name)",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", Self.script, "git-commit", context.package.directoryURL.path, output.path, staging.path],
            outputFilesDirectory: output)]
    }

    /// `$1` the package directory, `$2` the output directory, `$3` a staging file.
    /// The commit counts only when the package directory is the top of its
    /// work tree; `status` runs without optional locks (it never writes the index).
    static let script = #"""
    dir="$1"; out="$2"; next="$3"
    mkdir -p "$out" || exit 1
    hash=""; modified=false
    top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) &&
      [ "$(cd "$top" && pwd -P)" = "$(cd "$dir" && pwd -P)" ] &&
      hash=$(git -C "$dir" rev-parse --short=7 HEAD 2>/dev/null) || hash=""
    if [ -n "$hash" ] && [ -n "$(git -C "$dir" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null)" ]; then
      modified=true
    fi
    if [ -n "$hash" ]; then value="\"$hash\""; else value="nil"; fi
    printf '%s\n' "// Written at build time by the GitCommit plugin (Plugins/GitCommit); not a source file." \
      "extension BuildInfo {" \
      "    /// The abbreviated git commit the build's sources are (nil: not built in a git checkout)." \
      "    static let commit: String? = $value" \
      "    /// Whether tracked files differed from that commit." \
      "    static let modified = $modified" \
      "}" > "$next" || exit 1
    if cmp -s "$next" "$out/GitCommit.swift"; then rm -f "$next"; else mv -f "$next" "$out/GitCommit.swift"; fi
    """#
}

import Foundation
import PackagePlugin

/// Records which git commit the sources of `csgd` are, and whether tracked
/// files differ from it, as `GitCommit.swift` among the target's generated
/// sources (`csgd --version`, and the header of every run's log).
///
/// Why a build command: the commit must be read at build time (a binary
/// copied elsewhere still knows it), with no network, and must never be a
/// committed file that goes stale. The command is `/bin/sh` running local
/// `git` on the package's own directory. SwiftPM runs it when one of its
/// inputs changed: git's HEAD, index and the branch's ref (a commit, a
/// checkout, a reset or `git add` touches one of them) and every source
/// file of the package (an edit may make the tree modified); it rewrites
/// the file only when its text changes, so a rebuild after an edit
/// elsewhere recompiles nothing more. Outside a git checkout (a release
/// tarball, an archive unpacked inside some other repository, no `git`
/// installed) the commit is unknown and the build goes on.
@main
struct GitCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("GitCommit.swift")
        let staging = context.pluginWorkDirectoryURL.appendingPathComponent("GitCommit.swift.next")
        let sources = context.package.targets.compactMap { $0 as? SourceModuleTarget }.flatMap { $0.sourceFiles.map(\.url) }
        let inputs = Self.gitFiles(package) + [package.appendingPathComponent("Package.swift")] + sources
        return [.buildCommand(
            displayName: "Recording the git commit of \(target.name)",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", Self.script, "git-commit", package.path, output.path, staging.path],
            inputFiles: inputs,
            outputFiles: [output])]
    }

    /// The files of the package's git directory that change with the commit
    /// or the index: HEAD, index, the ref HEAD names and packed-refs (those
    /// that exist). `.git` may be a directory or, in a linked work tree, a
    /// file naming the work tree's git directory, whose `commondir` holds the refs.
    static func gitFiles(_ package: URL) -> [URL] {
        let fm = FileManager.default
        let dotGit = package.appendingPathComponent(".git")
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return [] }
        var gitDir = dotGit
        if !isDirectory.boolValue {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8), text.hasPrefix("gitdir:") else { return [] }
            let path = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            gitDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : package.appendingPathComponent(path)
        }
        var commonDir = gitDir
        if let text = try? String(contentsOf: gitDir.appendingPathComponent("commondir"), encoding: .utf8) {
            let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
            commonDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDir.appendingPathComponent(path)
        }
        var files = [gitDir.appendingPathComponent("HEAD"), gitDir.appendingPathComponent("index"), commonDir.appendingPathComponent("packed-refs")]
        if let head = try? String(contentsOf: gitDir.appendingPathComponent("HEAD"), encoding: .utf8), head.hasPrefix("ref:") {
            files.append(commonDir.appendingPathComponent(head.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return files.filter { fm.fileExists(atPath: $0.path) }
    }

    /// `$1` the package directory, `$2` the output file, `$3` a staging file.
    /// The commit counts only when the package directory is the top of its
    /// work tree; `status` runs without optional locks (it never writes the index).
    static let script = #"""
    dir="$1"; out="$2"; next="$3"
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
    if cmp -s "$next" "$out"; then rm -f "$next"; else mv -f "$next" "$out"; fi
    """#
}

import Foundation
import Plotting

/// The report: one self-contained HTML page (inline CSS and SVG, no
/// scripts, nothing fetched) with, per experiment, the claim, the paper's
/// figure and ours, the verdict with its rule and reason, the plots and
/// tables, the command that re-runs it, its wall time and the machine.
public struct ReportPage {
    public var summaries: [ExperimentSummary]
    /// Reads a plot file of an experiment: (experiment name, file) → SVG text.
    public var plot: (String, String) throws -> String

    public init(summaries: [ExperimentSummary], plot: @escaping (String, String) throws -> String) {
        self.summaries = summaries; self.plot = plot
    }

    public func html() throws -> String {
        var body = ""
        body += "<h1>csgd: the papers' claims, reproduced</h1>\n"
        if let m = summaries.first?.machine {
            body += "<p class=\"machine\">\(esc(m.cpu)), \(m.cores) cores, kernels on \(esc(m.instructionPath)); \(esc(m.date)).</p>\n"
        }
        body += "<table class=\"verdicts\"><thead><tr><th>experiment</th><th>paper</th><th>ours</th><th>verdict</th></tr></thead><tbody>\n"
        for s in summaries {
            body += "<tr><td><a href=\"#\(esc(s.name))\">\(esc(s.title))</a><br><span class=\"src\">\(esc(s.source))</span></td>"
            body += "<td>\(esc(s.analysis.paper))</td><td>\(esc(s.analysis.ours))</td>"
            body += "<td>\(badge(s.analysis.verdict.kind))</td></tr>\n"
        }
        body += "</tbody></table>\n"
        for s in summaries { body += try section(s) }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>csgd reproduction report</title>
            <style>\(Self.css)</style></head>
            <body>
            \(body)</body></html>

            """
    }

    func section(_ s: ExperimentSummary) throws -> String {
        let a = s.analysis
        var h = "<section id=\"\(esc(s.name))\">\n<h2>\(esc(s.title)) \(badge(a.verdict.kind))</h2>\n"
        h += "<p class=\"src\">\(esc(s.source))\(s.options.quick ? " · quick form" : "")</p>\n"
        h += "<p class=\"claim\"><b>Claim.</b> \(esc(s.claim))</p>\n"
        h += "<dl><dt>Paper</dt><dd>\(esc(a.paper))</dd><dt>Ours</dt><dd>\(esc(a.ours))</dd>"
        h += "<dt>Verdict</dt><dd>\(badge(a.verdict.kind)) \(esc(a.verdict.reason))</dd>"
        h += "<dt>Rule</dt><dd>\(esc(a.verdict.rule))</dd></dl>\n"
        for p in a.plots {
            h += "<figure>\(try plot(s.name, p.file))<figcaption>\(esc(p.caption))</figcaption></figure>\n"
        }
        for t in a.tables {
            h += "<table><caption>\(esc(t.caption))</caption><thead><tr>"
            h += t.header.map { "<th>\(esc($0))</th>" }.joined() + "</tr></thead><tbody>"
            for r in t.rows { h += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }
            h += "</tbody></table>\n"
        }
        if !a.notes.isEmpty {
            h += "<ul class=\"notes\">" + a.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n"
        }
        h += "<p class=\"run\"><b>Re-run:</b> <code>\(esc(s.command))</code><br>"
        h += "\(s.runs) runs (\(s.failedRuns) failed), \(Reproducer.duration(s.wallSeconds)) wall"
        h += " (\(Reproducer.duration(s.runSeconds)) of run time); \(esc(s.machine.cpu)), \(s.machine.cores) cores.</p>\n"
        return h + "</section>\n"
    }

    func badge(_ k: VerdictKind) -> String {
        "<span class=\"verdict \(k.rawValue.replacingOccurrences(of: " ", with: "-"))\">\(k.rawValue)</span>"
    }

    /// Text for HTML (the same escaping as the plots' SVG).
    func esc(_ s: String) -> String { Markup.escape(s) }

    static let css = """
        body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
        h1{font-size:1.6em}h2{font-size:1.3em;border-top:1px solid #ccc;padding-top:1em;margin-top:2em}
        table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
        caption{text-align:left;font-weight:bold;padding:.3em 0}.src,.machine{color:#555;font-size:.9em}
        .verdict{display:inline-block;padding:.05em .5em;border-radius:.3em;font-size:.85em;font-weight:bold;color:#fff}
        .verdict.holds{background:#1b7837}.verdict.partly{background:#b35806}.verdict.differs{background:#b2182b}
        .verdict.not-run{background:#777}dl{display:grid;grid-template-columns:6em 1fr;gap:.3em 1em}dt{font-weight:bold}dd{margin:0}
        figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#444;font-size:.9em}
        code{background:#f3f3f3;padding:.1em .3em;word-break:break-all}
        @media print{body{max-width:none}section{page-break-inside:avoid}}
        """
}

import Foundation

/// Internal: a series in pixels: line pieces split at gaps and cut to the
/// plot area, band polygons, marker positions; and their drawing.
struct SeriesGeometry {
    var lines: [[Point]] = []
    var bands: [[Point]] = []
    var markers: [Point] = []

    /// Markers drawn along a connected line of many points: about this many.
    static let markersAlongLine = 20

    /// The geometry of `series` in `frame`, drawn in `style`.
    init(_ series: Series, style: ResolvedStyle, frame: PlotFrame) {
        let plot = frame.plot
        let count = Swift.min(series.x.count, series.y.count)
        let points = (0..<count).map { frame.pixel(series.x[$0], series.y[$0]) }
        let runs = Self.runs(points)
        if style.connects {
            lines = runs.flatMap { plot.clip(polyline: Self.decimated($0, width: plot.width)) }
        }
        if let band = series.band {
            let n = Swift.min(series.x.count, band.lower.count, band.upper.count)
            let edges = (0..<n).map { i -> (Point, Point)? in
                guard let top = frame.pixel(series.x[i], band.upper[i]), let bottom = frame.pixel(series.x[i], band.lower[i]) else { return nil }
                return (top, bottom)
            }
            bands = Self.runs(edges).compactMap { run in
                let step = Swift.max(1, run.count / Swift.max(1, Int(plot.width)))
                var indices = Array(Swift.stride(from: 0, to: run.count, by: step))
                if indices.last != run.count - 1 { indices.append(run.count - 1) }
                let kept = indices.map { run[$0] }
                let polygon = kept.map(\.0) + kept.reversed().map(\.1)
                let clipped = plot.clip(polygon: polygon)
                return clipped.isEmpty ? nil : clipped
            }
        }
        if style.marker != nil {
            let valid = points.compactMap { $0 }
            let step = style.connects && valid.count > 2 * Self.markersAlongLine ? valid.count / Self.markersAlongLine : 1
            markers = Swift.stride(from: 0, to: valid.count, by: step).map { valid[$0] }.filter(plot.contains)
        }
    }

    /// The maximal runs of non-nil values.
    static func runs<T>(_ values: [T?]) -> [[T]] {
        var runs: [[T]] = []
        var current: [T] = []
        for value in values {
            if let value {
                current.append(value)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// A long run thinned to the first, lowest, highest and last point of each
    /// pixel column (the drawn shape is unchanged); short runs as they are.
    static func decimated(_ run: [Point], width: Double) -> [Point] {
        guard run.count > 4 * Swift.max(Int(width), 1) else { return run }
        var out: [Point] = []
        var bucket: [Point] = []
        func flush() {
            guard bucket.count > 4 else { out += bucket; bucket = []; return }
            let low = bucket.indices.min { bucket[$0].y < bucket[$1].y }!
            let high = bucket.indices.max { bucket[$0].y < bucket[$1].y }!
            out += Set([0, low, high, bucket.count - 1]).sorted().map { bucket[$0] }
            bucket = []
        }
        for point in run {
            if let first = bucket.first, floor(first.x) != floor(point.x) { flush() }
            bucket.append(point)
        }
        flush()
        return out
    }

    /// Path data for polylines: `M x y L x y …` per piece (a lone point as a dot).
    static func pathData(_ pieces: [[Point]], closed: Bool = false) -> String {
        let f = NumberFormat.coordinate
        return pieces.map { piece in
            let head = "M\(f(piece[0].x)) \(f(piece[0].y))"
            if piece.count == 1 { return head + "h0" }
            let rest = piece.dropFirst().map { "\(f($0.x)) \(f($0.y))" }.joined(separator: " ")
            return head + "L" + rest + (closed ? "Z" : "")
        }.joined()
    }

    /// Fill and outline of markers in `style`.
    static func markerPaint(_ style: ResolvedStyle) -> SVGWriter.Attributes {
        [("fill", style.color.hex), ("stroke", "#ffffff"), ("stroke-width", "0.75")]
    }

    /// What a legend should not cover.
    var obstacles: Obstacles {
        let r = Style.markerRadius + 0.5
        let discs = markers.map { Rect(x: $0.x - r, y: $0.y - r, width: 2 * r, height: 2 * r) }
        return Obstacles(polylines: lines).merged(Obstacles(boxes: discs, areas: bands))
    }

    /// The series as a group titled with its name: band, line, markers.
    func draw(into w: inout SVGWriter, name: String, style: ResolvedStyle, bandOpacity: Double) {
        w.open("g", [("class", "series")])
        w.element("title", text: name)
        if !bands.isEmpty {
            w.empty("path", [
                ("d", Self.pathData(bands, closed: true)), ("fill", style.color.hex),
                ("fill-opacity", NumberFormat.coordinate(bandOpacity)), ("stroke", "none"),
            ])
        }
        if !lines.isEmpty {
            w.empty("path", [("d", Self.pathData(lines))] + style.strokeAttributes)
        }
        if !markers.isEmpty, let marker = style.marker {
            let radius = style.connects ? Style.markerRadius : Style.markerRadius + 0.5
            w.empty("path", [("d", markers.map { marker.path(at: $0, radius: radius) }.joined())] + Self.markerPaint(style))
        }
        w.close("g")
    }
}

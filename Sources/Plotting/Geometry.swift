/// Internal: a point in pixels (y grows downwards, as in SVG).
struct Point: Equatable {
    var x: Double
    var y: Double
}

/// Internal: an axis-aligned rectangle in pixels.
struct Rect: Equatable {
    var x: Double
    var y: Double
    var width: Double
    var height: Double

    var minX: Double { x }
    var maxX: Double { x + width }
    var minY: Double { y }
    var maxY: Double { y + height }
    var midX: Double { x + width / 2 }
    var midY: Double { y + height / 2 }

    func contains(_ p: Point) -> Bool {
        p.x >= minX && p.x <= maxX && p.y >= minY && p.y <= maxY
    }

    func intersects(_ other: Rect) -> Bool {
        minX < other.maxX && other.minX < maxX && minY < other.maxY && other.minY < maxY
    }

    /// The part of segment p0–p1 inside this rectangle (Liang–Barsky), or nil.
    func clip(_ p0: Point, _ p1: Point) -> (Point, Point)? {
        let dx = p1.x - p0.x, dy = p1.y - p0.y
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, p0.x - minX), (dx, maxX - p0.x), (-dy, p0.y - minY), (dy, maxY - p0.y)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { t0 = Swift.max(t0, r) } else { t1 = Swift.min(t1, r) }
                if t0 > t1 { return nil }
            }
        }
        let a = t0 == 0 ? p0 : Point(x: p0.x + t0 * dx, y: p0.y + t0 * dy)
        let b = t1 == 1 ? p1 : Point(x: p0.x + t1 * dx, y: p0.y + t1 * dy)
        return (a, b)
    }

    /// The pieces of a polyline inside this rectangle; a lone point stays if inside.
    func clip(polyline: [Point]) -> [[Point]] {
        guard polyline.count > 1 else { return polyline.filter(contains).map { [$0] } }
        var pieces: [[Point]] = []
        var current: [Point] = []
        for i in 1..<polyline.count {
            guard let (a, b) = clip(polyline[i - 1], polyline[i]) else {
                if !current.isEmpty { pieces.append(current); current = [] }
                continue
            }
            if current.last != a {
                if !current.isEmpty { pieces.append(current) }
                current = [a]
            }
            current.append(b)
            if b != polyline[i] { pieces.append(current); current = [] }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// A polygon cut to this rectangle (Sutherland–Hodgman); empty when outside.
    func clip(polygon: [Point]) -> [Point] {
        var result = polygon
        let edges: [(Point) -> Bool] = [{ $0.x >= minX }, { $0.x <= maxX }, { $0.y >= minY }, { $0.y <= maxY }]
        let cuts: [(Point, Point) -> Point] = [
            { a, b in Self.at(a, b, t: (minX - a.x) / (b.x - a.x)) },
            { a, b in Self.at(a, b, t: (maxX - a.x) / (b.x - a.x)) },
            { a, b in Self.at(a, b, t: (minY - a.y) / (b.y - a.y)) },
            { a, b in Self.at(a, b, t: (maxY - a.y) / (b.y - a.y)) },
        ]
        for (inside, cut) in zip(edges, cuts) {
            guard let last = result.last else { return [] }
            var output: [Point] = []
            var previous = last
            for point in result {
                switch (inside(point), inside(previous)) {
                case (true, true): output.append(point)
                case (true, false): output.append(cut(previous, point)); output.append(point)
                case (false, true): output.append(cut(previous, point))
                case (false, false): break
                }
                previous = point
            }
            result = output
        }
        return result.count >= 3 ? result : []
    }

    private static func at(_ a: Point, _ b: Point, t: Double) -> Point {
        Point(x: a.x + t * (b.x - a.x), y: a.y + t * (b.y - a.y))
    }
}

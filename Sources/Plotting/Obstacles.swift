/// Internal: what is drawn in a plot area, for finding a place a legend hides nothing.
struct Obstacles {
    var segments: [(Point, Point)] = []
    var points: [Point] = []
    var boxes: [Rect] = []
    /// Filled areas (closed polygons).
    var areas: [[Point]] = []

    /// The segments of polylines (a lone point as a point).
    init(polylines: [[Point]]) {
        for piece in polylines {
            segments += zip(piece, piece.dropFirst()).map { ($0, $1) }
            if piece.count == 1 { points.append(piece[0]) }
        }
    }

    init(segments: [(Point, Point)] = [], points: [Point] = [], boxes: [Rect] = [], areas: [[Point]] = []) {
        self.segments = segments
        self.points = points
        self.boxes = boxes
        self.areas = areas
    }

    /// Everything in `self` and `other`.
    func merged(_ other: Obstacles) -> Obstacles {
        Obstacles(segments: segments + other.segments, points: points + other.points, boxes: boxes + other.boxes, areas: areas + other.areas)
    }

    /// Whether anything lies in `rect`.
    func touch(_ rect: Rect) -> Bool {
        points.contains(where: rect.contains)
            || boxes.contains(where: rect.intersects)
            || segments.contains { rect.clip($0.0, $0.1) != nil }
            || areas.contains { area in
                let corners = [(rect.minX, rect.minY), (rect.maxX, rect.minY), (rect.minX, rect.maxY), (rect.maxX, rect.maxY)]
                return corners.contains { Self.point(Point(x: $0.0, y: $0.1), isIn: area) }
                    || zip(area, area.dropFirst() + area.prefix(1)).contains { rect.clip($0, $1) != nil }
            }
    }

    /// Whether `p` lies inside `polygon` (even–odd rule).
    private static func point(_ p: Point, isIn polygon: [Point]) -> Bool {
        var inside = false
        for (a, b) in zip(polygon, polygon.dropFirst() + polygon.prefix(1)) where (a.y > p.y) != (b.y > p.y) {
            if p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) { inside.toggle() }
        }
        return inside
    }
}

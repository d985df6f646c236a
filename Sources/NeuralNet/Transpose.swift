/// Blocked out-of-place matrix transpose: row-major `rows`×`columns` `a`
/// into `columns`×`rows` `b`.
public enum Transpose {
    public static func copy(_ a: UnsafePointer<Float>, rows: Int, columns: Int, into b: UnsafeMutablePointer<Float>) {
        let t = 16
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + t)
            var c0 = 0
            while c0 < columns {
                let c1 = min(columns, c0 + t)
                for r in r0..<r1 {
                    let src = a + r * columns
                    for c in c0..<c1 { b[c * rows + r] = src[c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

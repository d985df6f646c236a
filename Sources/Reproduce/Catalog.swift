import CSGDCore

/// Every experiment `csgd reproduce` knows, in report order.
public enum Catalog {
    public static let all: [any Experiment] = [
        Fig2Plateau(),
        Fig1Workers(),
        Table1Rates(),
        ReluRate(),
        ReluPhase(),
        ReluNetbench(),
        PsgdDepth(),
        PgdPagd(),
        Cnc(),
    ]

    /// The experiments named on a command line (`all` for every one); an
    /// unknown name is a one-line error listing the known ones.
    public static func select(_ names: [String]) throws -> [any Experiment] {
        if names.contains("all") { return all }
        var out: [any Experiment] = []
        for n in names {
            guard let e = all.first(where: { $0.name == n }) else {
                throw CSGDError("unknown experiment '\(n)' (known: \(all.map(\.name).joined(separator: ", ")), all)")
            }
            if !out.contains(where: { $0.name == n }) { out.append(e) }
        }
        return out
    }
}

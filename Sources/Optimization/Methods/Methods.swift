import CSGDCore

/// The registry of methods: every type `parse` knows, one line each.
/// Adding a method is adding its file (a `Method` and its builder) and its
/// line here.
public enum Methods {
    /// Every method, in the order help texts list them.
    public static let all: [any Method.Type] = [
        Alg1.self,
        SGD.self,
        EFSGD.self,
        PSGD.self,
        PGD.self,
        PAGD.self,
        CNC.self,
        QSGDSGD.self,
    ]

    /// The names specs may start with.
    public static var names: [String] { all.map { $0.name } }

    /// The names of the methods that add noise (`PerturbedMethod`).
    public static var perturbedNames: [String] { all.filter { $0 is any PerturbedMethod.Type }.map { $0.name } }

    /// Parses a `--method NAME[:k=v,…]` argument; errors are one line
    /// (`SpecParser`'s style).
    public static func parse(_ text: String) throws -> any Method {
        var spec = try SpecParser(text, kind: "method", names: names)
        let type = all.first { $0.name == spec.name }!
        return try type.parse(&spec)
    }
}

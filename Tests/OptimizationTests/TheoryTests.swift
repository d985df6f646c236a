import CSGDCore
import Foundation
import Optimization
import XCTest

final class TheoryTests: XCTestCase {
    func close(_ a: Double, _ b: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a, b, accuracy: 1e-12 * abs(b), what, file: file, line: line)
    }

    /// Case 1, by hand: ε = 0.01, L = 1, ρ = 1, σ = 0.1, d = 100, μ = 0.1, general, no ℓ.
    /// η_σ = 1e-4/(1 + 100·0.01) = 5e-5; η_μ = min(0.1·0.01/(√0.9·0.1), 0.01·0.1/(0.9·100))
    ///     = min(0.0105409, 1.1111e-5) = 1.1111e-5 → η = 1/90000.
    func testGeneralCompressorByHand() throws {
        let p = try TheoryParameters(TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0.1, dimension: 100, mu: 0.1))
        let eta = 1.0 / 90_000
        close(p.eta, eta, "eta")
        close(p.I, 1 / (eta * 0.1), "I")            // √(ρε) = 0.1 → I = 900,000
        close(p.I, 900_000, "I")
        close(p.R, 0.1, "R")                        // √(ε/ρ)
        close(p.F, 0.001, "F")                      // √(ε³/ρ)
        close(p.r, 0.01 / (1.0 / 90_000).squareRoot(), "r")   // = 3
        close(p.r, 3, "r")
        close(p.T, 1 / (1e-4 * eta), "T")           // = 9e8
        close(p.T, 9e8, "T")
        XCTAssertEqual(Double(p.resetInterval), 900_000, accuracy: 1)     // ⌈I⌉ (I is 900,000 up to rounding)
        XCTAssertEqual(Double(p.iterationCount), 900_000_000, accuracy: 1)
    }

    /// Case 2, Assumption C and a linear compressor, with non-unit constants:
    /// ε = 0.04, L = 2, ρ = 0.25, σ = 0.5, ℓ = 3, d = 1000, μ = 0.5, linear,
    /// c = (0.5, 2, 3, 4, 5, 6), f_max = 10.
    func testAssumptionCLinearWithConstantsByHand() throws {
        let inputs = TheoryInputs(epsilon: 0.04, L: 2, rho: 0.25, sigma: 0.5, ell: 3, dimension: 1000, mu: 0.5,
                                  linear: true, fMax: 10)
        let c = TheoryConstants(cEta: 0.5, cI: 2, cR: 3, cF: 4, cr: 5, cT: 6)
        let p = try TheoryParameters(inputs, constants: c)
        // √(ρε) = √0.01 = 0.1.
        let etaSigma = min(0.0016 / (2 * 1.25), 0.1 / 9)        // min(6.4e-4, 0.0111) = 6.4e-4
        let etaMu = min(0.5 * 0.04 / (0.5.squareRoot() * 2 * 0.5), 0.25 * 0.1 / (0.5 * 4 * 1))  // min(0.02828, 0.0125)
        XCTAssertEqual(etaSigma, 6.4e-4, accuracy: 1e-18)
        XCTAssertEqual(etaMu, 0.0125, accuracy: 1e-15)
        close(TheoryParameters.etaSigma(inputs), etaSigma, "eta_sigma")
        close(TheoryParameters.etaMu(inputs), etaMu, "eta_mu")
        let eta = 0.5 * 6.4e-4
        close(p.eta, eta, "eta")
        close(p.I, 2 / (eta * 0.1), "I")
        close(p.R, 3 * (0.04 / 0.25).squareRoot(), "R")   // 1.2
        close(p.F, 4 * (0.000064 / 0.25).squareRoot(), "F")   // 0.064
        close(p.r, 5 * 0.04 / (2 * eta).squareRoot(), "r")
        close(p.T, 6 * 10 / (0.0016 * eta), "T")
    }

    func testAssumptionCBranchUsesEll() throws {
        // Without ℓ: ε²/(L(1+dσ²)); with a small ℓ the √(ρε)/ℓ² term binds; with a large ℓ, ε²/(L(1+σ²)).
        let base = TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 1, dimension: 100, mu: 1)
        close(TheoryParameters.etaSigma(base), 1e-4 / 101, "no C")
        var small = base; small.ell = 100        // √(0.01)/1e4 = 1e-5 < 1e-4/2
        close(TheoryParameters.etaSigma(small), 1e-5, "C, ℓ binds")
        var large = base; large.ell = 1          // 0.1 > 5e-5
        close(TheoryParameters.etaSigma(large), 1e-4 / 2, "C, σ binds")
        close(try TheoryParameters(large).eta, 5e-5, "eta with μ = 1")
    }

    func testLinearVersusGeneralCompressor() throws {
        // σ = 0 so only the second η_μ term is live; it differs by exactly the factor d.
        var p = TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0, dimension: 500, mu: 0.01)
        let general = TheoryParameters.etaMu(p)
        p.linear = true
        let linear = TheoryParameters.etaMu(p)
        close(general, 1e-4 * 0.1 / (0.99 * 500), "general")
        close(linear, 1e-4 * 0.1 / 0.99, "linear")
        close(linear / general, 500, "ratio d")
        // Both bind below η_σ = 1e-4, so η carries the factor too.
        p.linear = false
        let eg = try TheoryParameters(p).eta
        p.linear = true
        let el = try TheoryParameters(p).eta
        close(el / eg, 500, "eta ratio")
    }

    func testNoCompressionAndNoNoiseEdgeCases() throws {
        // μ = 1: η_μ = +∞ and η = c_η·η_σ, no NaN even with σ = 0.
        for sigma in [0.0, 0.3] {
            let p = TheoryInputs(epsilon: 0.1, L: 2, rho: 3, sigma: sigma, dimension: 10, mu: 1)
            XCTAssertEqual(TheoryParameters.etaMu(p), .infinity)
            let t = try TheoryParameters(p)
            close(t.eta, 0.01 / (2 * (1 + 10 * sigma * sigma)), "eta μ=1 σ=\(sigma)")
            for v in [t.eta, t.I, t.R, t.F, t.r, t.T] { XCTAssertTrue(v.isFinite && v > 0) }
        }
        // σ = 0, μ < 1: the first η_μ term drops out.
        let p = TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0, dimension: 10, mu: 0.5)
        close(TheoryParameters.etaMu(p), 0.25 * 0.1 / (0.5 * 10), "σ = 0")
        // μ close to 1 (tiny 1 − μ): finite and large, no overflow to NaN.
        let q = TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0.1, dimension: 10, mu: 1 - 1e-12)
        XCTAssertTrue(TheoryParameters.etaMu(q).isFinite)
        close(try TheoryParameters(q).eta, TheoryParameters.etaSigma(q), "μ ≈ 1")
    }

    func testValidationNamesTheParameter() {
        let ok = TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0.1, ell: 2, dimension: 10, mu: 0.5)
        XCTAssertNoThrow(try TheoryParameters(ok))
        var cases: [(TheoryInputs, String)] = []
        var x = ok; x.epsilon = 0; cases.append((x, "eps"))
        x = ok; x.epsilon = -1; cases.append((x, "eps"))
        x = ok; x.epsilon = .nan; cases.append((x, "eps"))
        x = ok; x.L = 0; cases.append((x, "L"))
        x = ok; x.rho = -3; cases.append((x, "rho"))
        x = ok; x.rho = .infinity; cases.append((x, "rho"))
        x = ok; x.sigma = -0.1; cases.append((x, "sigma"))
        x = ok; x.ell = 0; cases.append((x, "ell"))
        x = ok; x.dimension = 0; cases.append((x, "d"))
        x = ok; x.mu = 0; cases.append((x, "mu"))
        x = ok; x.mu = 1.5; cases.append((x, "mu"))
        x = ok; x.mu = .nan; cases.append((x, "mu"))
        x = ok; x.fMax = 0; cases.append((x, "fmax"))
        for (inputs, name) in cases {
            XCTAssertThrowsError(try TheoryParameters(inputs)) { e in
                guard let e = e as? CSGDError else { return XCTFail("not a CSGDError: \(e)") }
                XCTAssertTrue(e.message.hasPrefix("theory: \(name) = "), e.message)
                XCTAssertFalse(e.message.contains("\n"))
            }
        }
        XCTAssertThrowsError(try TheoryParameters(ok, constants: TheoryConstants(cI: 0))) { e in
            XCTAssertTrue((e as? CSGDError)?.message.contains("c-I") ?? false, "\(e)")
        }
        // Underflowing ε: the derived values are not finite → a clear error, not inf/NaN output.
        var tiny = ok; tiny.epsilon = 1e-200
        XCTAssertThrowsError(try TheoryParameters(tiny)) { e in
            XCTAssertTrue((e as? CSGDError)?.message.contains("derived") ?? false, "\(e)")
        }
    }

    func testJSONKeysAreExactlyThePaperNames() throws {
        let p = try TheoryParameters(TheoryInputs(epsilon: 0.01, L: 1, rho: 1, sigma: 0.1, dimension: 100, mu: 0.1))
        let data = try JSONEncoder().encode(p)
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(Set(obj.keys), ["eta", "I", "R", "F", "r", "T"])
        XCTAssertEqual(try JSONDecoder().decode(TheoryParameters.self, from: data), p)
    }

    func testInputsFromObjectiveConstants() throws {
        let c = ObjectiveConstants(L: 1, rho: 1, sigma: 0.1, ell: nil)
        let i = try TheoryInputs(epsilon: 0.01, constants: c, dimension: 100, mu: 0.1)
        XCTAssertEqual(i.L, 1); XCTAssertNil(i.ell)
        XCTAssertThrowsError(try TheoryInputs(epsilon: 0.01, constants: ObjectiveConstants(L: 1, sigma: 0), dimension: 3, mu: 1)) { e in
            XCTAssertTrue((e as? CSGDError)?.message.contains("rho") ?? false)
        }
    }
}

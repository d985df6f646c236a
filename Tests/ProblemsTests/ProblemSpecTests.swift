import XCTest
import CSGDCore
import Optimization
import Problems

final class ProblemSpecTests: XCTestCase {
    func testDefaults() throws {
        XCTAssertEqual(try ProblemSpec.parse("saddle"), .saddle(.init()))
        XCTAssertEqual(try ProblemSpec.parse("matrix-factorization"), .matrixFactorization(.init()))
        XCTAssertEqual(try ProblemSpec.parse("phase-retrieval"), .phaseRetrieval(.init()))
        XCTAssertEqual(try ProblemSpec.parse("tensor-decomposition"), .tensorDecomposition(.init()))
        XCTAssertEqual(try ProblemSpec.parse(" RELU: "), .relu(.init()))
        let relu = PlantedReLU.Options()
        XCTAssertEqual(relu.d, 1000); XCTAssertEqual(relu.n, 10000)
        XCTAssertEqual(relu.wMean, 200); XCTAssertEqual(relu.wVariance, 3)
        XCTAssertEqual(relu.initialization, .random)
        let s = StrictSaddle.Options()
        XCTAssertEqual(s.start, .saddle); XCTAssertEqual(s.noise, 0); XCTAssertEqual(s.gamma, 1); XCTAssertEqual(s.d, 10)
    }

    func testOptionsAreRead() throws {
        guard case let .relu(o) = try ProblemSpec.parse("relu:d=50,n=500,init=gradient,wvar=9,init-step=2,noise=0.5,seed=7,scale=0.1")
        else { return XCTFail("not relu") }
        XCTAssertEqual(o.d, 50); XCTAssertEqual(o.n, 500); XCTAssertEqual(o.initialization, .gradient)
        XCTAssertEqual(o.wVariance, 9); XCTAssertEqual(o.initStep, 2); XCTAssertEqual(o.noise, 0.5)
        XCTAssertEqual(o.seed, 7); XCTAssertEqual(o.scale, 0.1)
        guard case let .tensorDecomposition(t) = try ProblemSpec.parse("tensor-decomposition:d=8,k=3,start=saddle,s=3")
        else { return XCTFail("not tensor") }
        XCTAssertEqual(t.components, 3); XCTAssertEqual(t.start, .saddle); XCTAssertEqual(t.s, 3)
        XCTAssertEqual(try ProblemSpec.parse("matrix-factorization:n=7,r=3").dimension, 21)
    }

    func testCanonicalDescriptionRoundTrips() throws {
        let texts = [
            "saddle", "saddle:d=3,gamma=0.25,start=random,scale=0.001,noise=0.01,seed=9",
            "matrix-factorization:n=5,r=1,start=zero", "phase-retrieval:d=4,n=9,noise=1e-05",
            "tensor-decomposition:d=5", "tensor-decomposition:d=5,k=3,start=saddle,s=3",
            "relu:d=7,n=30,init=gradient,wmean=-1.5,wvar=0",
        ]
        for t in texts {
            let spec = try ProblemSpec.parse(t)
            XCTAssertEqual(try ProblemSpec.parse(spec.description), spec, spec.description)
        }
        let p = try ProblemSpec.make("saddle:d=3")
        XCTAssertEqual(p.name, "saddle:d=3,gamma=1,start=saddle,scale=1,noise=0,seed=1")
        XCTAssertEqual(p.dimension, 3)
        XCTAssertEqual(try ProblemSpec.make("relu:d=4,n=10").dimension, 4)
    }

    func testErrorsNameTheOffendingPart() {
        let cases: [(String, String)] = [
            ("foo", "problem 'foo' is not known (expected one of: saddle, matrix-factorization, phase-retrieval, tensor-decomposition, relu)"),
            ("", "problem '' is not known"),
            ("relu:x=1", "problem 'relu': option 'x' is not known (allowed: d, n, init, scale, init-step, wmean, wvar, noise, seed)"),
            ("saddle:n=4", "problem 'saddle': option 'n' is not known"),
            ("relu:d", "problem 'relu': option 'd' needs a value (d=…)"),
            ("relu:d=5,", "problem 'relu': option list 'd=5,' has an empty item"),
            ("relu:d=", "problem 'relu': option 'd' needs a value (d=…)"),
            ("relu:d=abc", "problem 'relu': d = 'abc' is not an integer"),
            ("relu:d=1e3", "problem 'relu': d = '1e3' is not an integer"),
            ("relu:d=5,d=6", "problem 'relu': option 'd' is given twice"),
            ("relu:D=5,d=6", "problem 'relu': option 'd' is given twice"),
            ("saddle:d=0", "problem 'saddle': d = 0 must be positive"),
            ("phase-retrieval:n=-3", "problem 'phase-retrieval': n = -3 must be positive"),
            ("saddle:gamma=-1", "problem 'saddle': gamma = -1 must be positive"),
            ("saddle:gamma=x", "problem 'saddle': gamma = 'x' is not a finite number"),
            ("saddle:noise=-0.5", "problem 'saddle': noise = -0.5 must be non-negative"),
            ("relu:noise=nan", "problem 'relu': noise = 'nan' is not a finite number"),
            ("saddle:start=middle", "problem 'saddle': start = 'middle' is not one of: saddle, random"),
            ("relu:init=zero", "problem 'relu': init = 'zero' is not one of: random, gradient"),
            ("phase-retrieval:seed=-1", "problem 'phase-retrieval': seed = '-1' is not a non-negative integer"),
            ("matrix-factorization:n=3,r=4", "problem 'matrix-factorization': rank r = 4 exceeds n = 3"),
            ("tensor-decomposition:d=4,k=5", "problem 'tensor-decomposition': k = 5 exceeds d = 4"),
            ("tensor-decomposition:d=4,k=2,start=saddle,s=3", "problem 'tensor-decomposition': s = 3 exceeds the number of components k = 2"),
            ("tensor-decomposition:s=1", "problem 'tensor-decomposition': s = 1 must be at least 2"),
            ("relu:n=100000,d=100000", "problem 'relu': n·d = 100000·100000 is too large"),
            ("relu:init-step=0", "problem 'relu': init-step = 0 must be positive"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try ProblemSpec.parse(text), text) { error in
                guard let e = error as? CSGDError else { return XCTFail("\(text): not a CSGDError: \(error)") }
                XCTAssertTrue(e.message.hasPrefix(expected), "\(text): got “\(e.message)”, expected “\(expected)…”")
                XCTAssertFalse(e.message.contains("\n"), "\(text): message must be one line")
            }
        }
    }

    func testDirectConstructionValidatesToo() {
        var o = StrictSaddle.Options()
        o.d = -1
        XCTAssertThrowsError(try StrictSaddle(o)) { XCTAssertEqual(($0 as? CSGDError)?.message, "problem 'saddle': d = -1 must be positive") }
    }
}

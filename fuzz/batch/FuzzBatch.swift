// libFuzzer harness for `BatchDecoder` (Sources/ServeKit/API/BatchDecoder.swift), the reader of
// every ingest body.
//
// Built by scripts/fuzz.sh into one module with BatchDecoder.swift and LiveDTO.swift and linked
// with `-sanitize=fuzzer,address`. Beyond "no crash" it asserts, for every input, that Foundation's
// `JSONDecoder` — the independent reference, which the server used before — and `BatchDecoder`
// accept the same documents as a `BatchRequest`, and that what both accept decodes to the same
// batch (stream, batch id, every row's time and values, every sample's fields; numbers bit for bit).

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let reference: BatchRequest?
    do { reference = try JSONDecoder().decode(BatchRequest.self, from: bytes) } catch { reference = nil }
    var ours: BatchRequest?, reason = ""
    do { ours = try BatchDecoder.decode(bytes).batch } catch { reason = error.message }
    let text = String(decoding: bytes.prefix(300), as: UTF8.self)
    switch (ours, reference) {
    case (nil, nil): break
    case (let b?, nil):
        // JSONDecoder refuses `0e5` (a lone zero with an unsigned exponent; RFC 8259 allows it) but
        // reads `0e+5`: with those rewritten outside strings it must accept the same batch.
        let rewritten = signedZeroExponents(Array(bytes))
        guard rewritten != Array(bytes), let r = try? JSONDecoder().decode(BatchRequest.self, from: Data(rewritten)) else {
            violated("BatchDecoder accepted what JSONDecoder refuses: \(quoted(text)) as \(b)")
        }
        check(same(b, r), "BatchDecoder read \(quoted(text)) as \(b), JSONDecoder (exponents signed) as \(r)")
    case (nil, _?): violated("BatchDecoder refused what JSONDecoder accepts (\(reason)): \(quoted(text))")
    case let (b?, r?): check(same(b, r), "BatchDecoder read \(quoted(text)) as \(b), JSONDecoder as \(r)")
    }
    return 0
}

func same(_ a: BatchRequest, _ b: BatchRequest) -> Bool {
    a.stream_id == b.stream_id && a.batch_id == b.batch_id
        && same(a.rows, b.rows) { same($0.timestamp, $1.timestamp) && same($0.values, $1.values, same) }
        && same(a.samples, b.samples) {
            same($0.timestamp, $1.timestamp) && $0.sensor_id == $1.sensor_id && $0.sensor_name == $1.sensor_name
                && same($0.value, $1.value) && $0.unit == $1.unit && same($0.quality, $1.quality)
        }
}

func same<T>(_ a: [T]?, _ b: [T]?, _ eq: (T, T) -> Bool) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (x?, y?): return x.count == y.count && zip(x, y).allSatisfy(eq)
    default: return false
    }
}

func same(_ a: Double?, _ b: Double?) -> Bool { a?.bitPattern == b?.bitPattern }

func same(_ a: WireTime, _ b: WireTime) -> Bool {
    switch (a, b) {
    case let (.seconds(x), .seconds(y)): return x.bitPattern == y.bitPattern
    case let (.text(x), .text(y)): return x == y
    default: return false
    }
}

/// `0e5` and `0E5` outside strings become `0e+5`, where the zero starts a number.
func signedZeroExponents(_ b: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [], inString = false, k = 0
    while k < b.count {
        let c = b[k]
        out.append(c)
        if inString {
            if c == UInt8(ascii: "\\"), k + 1 < b.count { out.append(b[k + 1]); k += 1 } else if c == UInt8(ascii: "\"") { inString = false }
        } else if c == UInt8(ascii: "\"") {
            inString = true
        } else if c == UInt8(ascii: "0"), k + 2 < b.count, b[k + 1] | 0x20 == UInt8(ascii: "e"), (48...57).contains(b[k + 2]),
                  k == 0 || !((48...57).contains(b[k - 1]) || b[k - 1] == UInt8(ascii: ".")) {
            out.append(b[k + 1])
            out.append(UInt8(ascii: "+"))
            k += 1
        }
        k += 1
    }
    return out
}

func quoted(_ s: String) -> String { "\"" + s.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\"" }

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { violated(message()) }
}

func violated(_ message: String) -> Never {
    fatalError("PROPERTY VIOLATED: " + message)
}

import Foundation
import TrainerKit

/// Training progress on standard error: a bar redrawn in place on a terminal, one plain line per
/// epoch otherwise (logs, CI).
final class ProgressBar {
    private let terminal = isatty(STDERR_FILENO) == 1
    private var lastDraw = 0.0

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    func update(_ p: FitProgress) {
        let now = Date().timeIntervalSince1970
        if p.epochDone {
            let v = p.validationLoss.map { String(format: " val %.5f", $0) } ?? ""
            let line = String(format: "epoch %d/%d  loss %.5f%@  %.0f windows/s  ETA %@", p.epoch, p.epochs, p.loss, v,
                              p.windowsPerSecond, Self.duration(p.eta))
            write(terminal ? "\r\u{1B}[2K" + line + "\n" : line + "\n")
            return
        }
        guard terminal, now - lastDraw > 0.1 else { return }
        lastDraw = now
        let width = 30
        let filled = Int(Double(width) * Double(p.batch) / Double(max(p.batches, 1)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        write(String(format: "\r\u{1B}[2Kepoch %d/%d %@ %d/%d  loss %.5f  %.0f windows/s  ETA %@", p.epoch, p.epochs, bar,
                     p.batch, p.batches, p.loss, p.windowsPerSecond, Self.duration(p.eta)))
    }
}

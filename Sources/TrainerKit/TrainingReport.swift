import Foundation
import Model

/// The Markdown report written beside a model (`FILE.report.md`) and its loss-curve SVG.
public enum TrainingReport {
    /// The loss curves (training and validation per epoch) as a small standalone SVG.
    public static func lossSVG(_ loss: [Float], _ validation: [Float], bestEpoch: Int) -> String {
        let w = 640.0, h = 320.0, left = 60.0, right = 20.0, top = 20.0, bottom = 40.0
        let all = (loss + validation).filter { $0.isFinite && $0 > 0 }
        let hi = Double(all.max() ?? 1), lo = Double(all.min() ?? 0)
        let n = max(loss.count, 2)
        func x(_ i: Int) -> Double { left + (w - left - right) * Double(i) / Double(n - 1) }
        func y(_ v: Float) -> Double {
            let span = max(hi - lo, 1e-12)
            return top + (h - top - bottom) * (1 - (Double(v) - lo) / span)
        }
        func path(_ v: [Float]) -> String {
            v.enumerated().map { String(format: "%@%.1f,%.1f", $0.offset == 0 ? "M" : "L", x($0.offset), y($0.element)) }.joined(separator: " ")
        }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <line x1="\(left)" y1="\(h - bottom)" x2="\(w - right)" y2="\(h - bottom)" stroke="#444"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(h - bottom)" stroke="#444"/>
        <text x="\(left - 6)" y="\(top + 4)" text-anchor="end">\(String(format: "%.4g", hi))</text>
        <text x="\(left - 6)" y="\(h - bottom)" text-anchor="end">\(String(format: "%.4g", lo))</text>
        <text x="\(left)" y="\(h - 12)">epoch 1</text>
        <text x="\(w - right)" y="\(h - 12)" text-anchor="end">epoch \(loss.count)</text>
        <path d="\(path(loss))" fill="none" stroke="#1f77b4" stroke-width="2"/>
        <path d="\(path(validation))" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>

        """
        if bestEpoch >= 1 && bestEpoch <= validation.count {
            s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>\n", x(bestEpoch - 1), y(validation[bestEpoch - 1]))
        }
        s += """
        <text x="\(w - right - 150)" y="\(top + 12)" fill="#1f77b4">— training loss</text>
        <text x="\(w - right - 150)" y="\(top + 28)" fill="#d62728">-- validation loss</text>
        </svg>

        """
        return s
    }

    /// The Markdown report.
    public static func markdown(result r: FitResult, settings s: FitSettings, files: [String], modelPath: String, svgName: String) -> String {
        let f = r.file
        var md = "# Training report: \((modelPath as NSString).lastPathComponent)\n\n"
        md += "Created \(f.createdAt) by vertac-train \(f.trainerVersion).\n\n## Settings\n\n| setting | value |\n|---|---|\n"
        let rows: [(String, String)] = [
            ("window (T)", "\(s.window)"), ("hidden (H)", "\(s.hidden)"), ("epochs (max)", "\(s.epochs)"), ("batch", "\(s.batch)"),
            ("learning rate", "\(s.learningRate)"), ("loss", f.loss.rawValue), ("validation fraction", "\(s.validationFraction)"),
            ("patience", "\(s.patience)"), ("percentile", "\(s.percentile)"), ("threshold margin", "\(s.margin)"),
            ("seed", "\(s.seed)"), ("stride", "\(s.stride)"), ("threads", "\(s.threads)"), ("gradient clipping", "\(s.clipNorm)"),
        ]
        for (k, v) in rows { md += "| \(k) | \(v) |\n" }
        md += "\n## Data\n\n- files: \(files.count) (\(files.prefix(5).joined(separator: ", "))\(files.count > 5 ? ", …" : ""))\n"
        md += "- sensors (\(f.sensors.count)): \(f.sensors.joined(separator: ", "))\n"
        md += "- cycles: \(r.trainingCycles) for training, \(r.validationCycles) for validation\n"
        md += "- windows: \(r.trainingWindows) for training, \(r.validationWindows) for validation"
            + (r.validationWindows > s.maxValidationWindows ? " (the loss of each epoch on \(s.maxValidationWindows) of them, evenly spaced)\n" : "\n")
        md += "- data SHA-256: `\(f.training.dataSHA256)`\n\n## Loss\n\n![loss curves](\(svgName))\n\n"
        md += "Epochs run: \(f.training.epochs)\(r.stoppedEarly ? " (stopped early)" : ""); best validation loss at epoch \(r.bestEpoch), whose weights are kept.\n\n"
        md += "| epoch | training loss | validation loss |\n|---|---|---|\n"
        for (i, (a, b)) in zip(f.training.loss, f.training.validationLoss).enumerated() {
            md += String(format: "| %d%@ | %.6f | %.6f |\n", i + 1, i + 1 == r.bestEpoch ? " (best)" : "", a, b)
        }
        md += "\n## Thresholds\n\nMethod: \(f.calibration.method). "
        md += String(format: "Window threshold (largest over the cycle): %.6f.\n\n", f.calibration.windowThreshold)
        if let x = f.calibration.expected {
            md += "**Expected false alarms** on new normal cycles, measured by replaying \(x.cycles) held-out normal cycles "
            md += "(\(x.folds)-fold over cycles: each fold judged by thresholds learnt without it) through the live pipeline "
            md += "with its state machines: "
            md += String(format: "%.2f maintenance events per 100 cycles, %.2f post-cycle reports at warning or worse per 100 cycles, %.3f %% of rows flagged. ",
                         x.eventsPer100Cycles, x.reportsPer100Cycles, 100 * x.rowRate)
            md += "Target: \(s.falseEventRate * 100) events and \(s.reportRate * 100) reports per 100 cycles, \(s.rowFlagRate * 100) % of rows.\n\n"
        }
        if let c = r.calibrationSummary { md += "Calibration: \(c).\n\n" }
        md += "| sensor | scaler min | scaler max | error threshold (max) | DTW threshold (max) | report threshold |\n|---|---|---|---|---|---|\n"
        for j in f.sensors.indices {
            let dtw = f.reference.map { String(format: "%.6f", $0.dtwThreshold[j]) } ?? "—"
            let report = f.reference?.reportThreshold.map { String(format: "%.6f", $0[j]) } ?? "—"
            md += String(format: "| %@ | %.6g | %.6g | %.6f | %@ | %@ |\n", f.sensors[j], f.scaler.min[j], f.scaler.max[j],
                         f.calibration.sensorThreshold[j], dtw, report)
        }
        if let e = f.calibration.envelope, let ref = f.reference {
            let D = f.sensors.count
            md += "\nGolden-cycle envelope: \(e.bins) bins of the reference cycle; error threshold per sensor, smallest / median / largest bin:\n\n"
            md += "| sensor | error min | error median | error max | DTW min | DTW max |\n|---|---|---|---|---|---|\n"
            for j in 0..<D {
                let err = (0..<e.bins).map { e.sensorThreshold[$0 * D + j] }.sorted()
                let dtw = e.dtwThreshold.isEmpty ? [Float(0)] : (0..<e.bins).map { e.dtwThreshold[$0 * D + j] }.sorted()
                md += String(format: "| %@ | %.5f | %.5f | %.5f | %.6f | %.6f |\n", f.sensors[j], err.first!, err[err.count / 2], err.last!,
                             dtw.first!, dtw.last!)
            }
            if let l = ref.lengthRange { md += "\nNormal cycle length: \(l.lowerBound)–\(l.upperBound) rows (reference \(ref.length)).\n" }
        }
        if let ref = f.reference {
            md += "\nReference cycle: \(r.referenceSource ?? "?"), \(ref.length) rows (DTW medoid of the training cycles); live DTW band ±\(ref.band) rows.\n"
        } else {
            md += "\nNo reference cycle: it needs at least two training cycles.\n"
        }
        md += String(format: "\n## Timing\n\n- training: %.1f s (%.0f windows/s)\n- reference and calibration: %.2f s\n",
                     r.trainSeconds, Double(min(r.trainingWindows, s.maxWindowsPerEpoch) * f.training.epochs) / max(r.trainSeconds, 1e-9),
                     r.calibrationSeconds + r.referenceSeconds)
        return md
    }
}

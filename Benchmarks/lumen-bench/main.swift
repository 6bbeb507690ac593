// lumen-bench: ResNet-18 training-step and inference throughput, the Lumen side of `make bench`.
// Usage: lumen-bench MODE SIZE CHANNELS [BATCH] [ITERS] [WARMUP] [THREADS]; prints one JSON line.
// LUMEN_CHANNELS_LAST=1 stores weights and input channels-last (NHWC), reported as "lumen-cl".
// LUMEN_PACKED=1 (inference) packs the network for oneDNN (`packForInference()`: weights reordered once, batch norms
// folded, activations in oneDNN's layout), as every model loaded for serving or batch inference is; reported as "lumen-packed".
import Foundation
import LumenNN
import LumenTensor

func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}

let args = CommandLine.arguments
guard args.count >= 4, ["train", "infer"].contains(args[1]), let size = Int(args[2]), let channels = Int(args[3]) else {
    FileHandle.standardError.write(Data("usage: lumen-bench train|infer SIZE CHANNELS [BATCH] [ITERS] [WARMUP] [THREADS]\n".utf8))
    exit(2)
}
let mode = args[1]
let batch = args.count > 4 ? Int(args[4]) ?? 32 : 32
let iters = args.count > 5 ? Int(args[5]) ?? 10 : 10
let warmup = args.count > 6 ? Int(args[6]) ?? 2 : 2
if args.count > 7, let threads = Int(args[7]) { _ = try Tensor.zeros([1]); Runtime.threads = threads }

do {
    Runtime.manualSeed(0)
    let model = try ResNet(.resnet18, inChannels: channels, numClasses: 2)
    let channelsLast = ProcessInfo.processInfo.environment["LUMEN_CHANNELS_LAST"] == "1"
    if channelsLast { try model.toChannelsLast() }
    let x = channelsLast ? try Tensor.randn([batch, channels, size, size]).channelsLast() : try Tensor.randn([batch, channels, size, size])
    let y = try Tensor.randint(0, 2, [batch])
    let optimizer = try SGD(model.parameters(), lr: 0.01, momentum: 0.9)
    let loss = CrossEntropyLoss()

    if mode == "train" { model.train() } else { model.eval() }
    let packed = mode == "infer" && ProcessInfo.processInfo.environment["LUMEN_PACKED"] == "1"
    if packed { try model.packForInference() }
    let input = packed ? try x.mkldnn() : x

    func step() throws {
        if mode == "train" {
            try optimizer.zeroGrad()
            try loss(model(x), y).backward()
            try optimizer.step()
        } else {
            _ = try withNoGrad { try model(input).dense() }
        }
    }

    for _ in 0..<warmup { try step() }
    let start = DispatchTime.now()
    for _ in 0..<iters { try step() }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let result: [String: Any] = [
        "tool": packed ? "lumen-packed" : channelsLast ? "lumen-cl" : "lumen", "mode": mode, "size": size, "channels": channels, "batch": batch, "threads": Runtime.threads,
        "images_per_s": Double(batch * iters) / seconds, "peak_rss_mb": peakRSSMegabytes(),
        "libtorch": Runtime.libtorchVersion,
    ]
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("lumen-bench: \(error)\n".utf8))
    exit(1)
}

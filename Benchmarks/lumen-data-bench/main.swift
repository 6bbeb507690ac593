// lumen-data-bench: loader throughput (decode + augment + batch), the Lumen side of the data benchmark.
// Usage: lumen-data-bench WORKSPACE DATASET [EPOCHS] [WORKERS] [BATCH]; prints one JSON line.
import Foundation
import LumenData
import LumenImaging
import LumenStore
import LumenWorkspace

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: lumen-data-bench WORKSPACE DATASET [EPOCHS] [WORKERS] [BATCH]\n".utf8))
    exit(2)
}
let epochs = args.count > 3 ? Int(args[3]) ?? 1 : 1
let workers = args.count > 4 ? Int(args[4]) ?? 2 : 2
let batch = args.count > 5 ? Int(args[5]) ?? 32 : 32
do {
    let workspace = try Workspace.find(explicit: args[1])
    let repository = DatasetRepository(workspace: workspace)
    let version = try repository.resolve(args[2])
    var options = LoaderOptions()
    options.workers = workers
    options.batchSize = batch
    options.prefetch = 2 * workers
    // The same augmentation as the torchvision side: flip, rotation ±10°, scaling to 0…1, normalisation.
    let pipeline = Pipeline([.horizontalFlip(p: 0.5), .rotate(degrees: 10), .normalize(.fixed(mean: [127.5], std: [127.5]))])
    let loader = try DataLoader(version: version, split: nil, repository: repository, pipeline: pipeline, options: options)
    var images = 0
    let start = Date()
    for epoch in 0..<epochs {
        let it = loader.epoch(epoch)
        while let b = try it.nextBatch() { images += b.images.shape[0] }
    }
    let seconds = Date().timeIntervalSince(start)
    print("{\"tool\": \"lumen\", \"images\": \(images), \"seconds\": \(seconds), \"images_per_s\": \(Double(images) / seconds)}")
} catch {
    FileHandle.standardError.write(Data("lumen-data-bench: \(error)\n".utf8))
    exit(1)
}

"""NumPy merges as Flower's server strategies compute them (FedAvg with np.average, FedMedian, FedTrimmedAvg, Krum),
the same calls on pre-stacked arrays, and a plain NumPy Weiszfeld for geomedian, which Flower lacks."""

import numpy as np

# A model is a list of layer arrays; `models` is one such list per client, the way Flower's aggregate functions
# receive them.


def flower_mean(models, weights, **_):
    # FedAvg with np.average, as the issue asks (Flower's aggregate() is the same weighted sum over layer lists).
    return [np.average(np.asarray(layer), axis=0, weights=weights) for layer in zip(*models)]


def flower_coordmedian(models, **_):
    # FedMedian: the per-layer median over clients.
    return [np.median(np.asarray(layer), axis=0) for layer in zip(*models)]


def trim_mean_axis0(stacked, proportion):
    # Flower's FedTrimmedAvg: partition around both cut points along axis 0, average what lies between them.
    count = stacked.shape[0]
    low = int(proportion * count)
    high = count - low
    partitioned = np.partition(stacked, (low, high - 1), axis=0)
    return np.mean(partitioned[low:high], axis=0)


def flower_trimmedmean(models, trim, **_):
    return [trim_mean_axis0(np.asarray(layer), trim) for layer in zip(*models)]


def krum_select(flat, byzantine):
    # Flower's Krum: all n x n squared distances with np.linalg.norm, each client scored by its n - f - 2 nearest.
    count = flat.shape[0]
    distances = np.zeros((count, count))
    for i in range(count):
        for j in range(count):
            distances[i, j] = np.linalg.norm(flat[i] - flat[j]) ** 2
    closest = max(1, count - byzantine - 2)
    scores = [np.sum(row[np.argsort(row)[1:closest + 1]]) for row in distances]
    return int(np.argmin(scores))


def flower_krum(models, byzantine, **_):
    flat = np.array([np.concatenate([layer.ravel() for layer in model]) for model in models])
    return models[krum_select(flat, byzantine)]


FLOWER = {"mean": flower_mean, "coordmedian": flower_coordmedian, "trimmedmean": flower_trimmedmean, "krum": flower_krum}


def stacked_mean(stacks, weights, **_):
    return [np.average(stack, axis=0, weights=weights) for stack in stacks]


def stacked_coordmedian(stacks, **_):
    return [np.median(stack, axis=0) for stack in stacks]


def stacked_trimmedmean(stacks, trim, **_):
    return [trim_mean_axis0(stack, trim) for stack in stacks]


def flat_krum(flat, byzantine, **_):
    return flat[krum_select(flat, byzantine)]


def flat_weiszfeld(flat, weights, max_iterations=100, tolerance=1e-6, **_):
    """A plain NumPy Weiszfeld with our stopping rule: start at the weighted mean, stop when a step moves less than
    tolerance x spread (the weighted mean distance of the inputs to the start). Reads all inputs every iteration."""
    w = weights.astype(np.float64)

    def distances(y):
        return np.array([np.linalg.norm(row - y) for row in flat], dtype=np.float64)

    y = (w / w.sum()).astype(np.float32) @ flat
    d = distances(y)
    spread = float(w @ d / w.sum())
    if spread == 0:
        return y, 0
    for iteration in range(1, max_iterations + 1):
        eta = w / np.maximum(d, 1e-12 * spread)
        following = (eta / eta.sum()).astype(np.float32) @ flat
        moved = float(np.linalg.norm(following - y))
        y = following
        d = distances(y)
        if moved <= tolerance * spread:
            return y, iteration
    return y, max_iterations


STACKED = {"mean": stacked_mean, "coordmedian": stacked_coordmedian, "trimmedmean": stacked_trimmedmean}
FLAT = {"krum": flat_krum, "geomedian": flat_weiszfeld}

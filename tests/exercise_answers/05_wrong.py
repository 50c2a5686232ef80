"""Plausible wrong answers to lesson 5's exercises
(notebooks/exercises/05_unet_membrane_segmentation/05_exercises.py).

WRONG maps a solution cell's grade_id to {the mistake, in one line: the code of the whole cell}. Each must fail at
least one of that exercise's graded cells (tests/test_exercise_answers.py).
"""

_CROP_HEAD = '''
def paired_crop(image, mask, size, seed):
    height, width = image.shape[0], image.shape[1]
'''

_CROP_DRAW = '''
    top_seed, left_seed = tf.unstack(tf.random.split(seed, 2))
    top = tf.random.stateless_uniform([], top_seed, 0, height - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], left_seed, 0, width - size + 1, dtype=tf.int32)
    return image[top:top + size, left:left + size], mask[top:top + size, left:left + size]
'''

_CHECK = '''
    if size > height or size > width:
        raise ValueError(f"a {size}x{size} crop does not fit in a {height}x{width} image")
'''


def _weighted(with_weights: str, call: str = "transform=transform") -> str:
    """A weighted_stream cell whose weight function is ``with_weights`` (indented by 4), calling paired_stream
    with ``call`` after its crop, batch_size and seed."""
    return f'''
from helpers.taught import segmentation


def weighted_stream(images, masks, *, crop, batch_size, seed, margin, transform=None):
    inside = tf.range(crop)
    inside = tf.cast((inside >= margin) & (inside < crop - margin), tf.float32)
    interior = (inside[:, None] * inside[None, :])[None, :, :, None]
{with_weights}
    stream = segmentation.paired_stream(images, masks, crop=crop, batch_size=batch_size, seed=seed, {call})
    return stream.map(with_weights, num_parallel_calls=tf.data.AUTOTUNE)
'''


_BALANCED = '''
    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        cells = tf.reduce_sum(region * y)
        total = tf.reduce_sum(region)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, total / (2.0 * tf.maximum(cells, 1.0)), 1.0)
        per_membrane = tf.where(both, total / (2.0 * tf.maximum(membranes, 1.0)), 1.0)
        return x, y, region * tf.where(y > 0.5, per_cell, per_membrane)
'''

_IOU_HEAD = '''
def iou_and_dice(y_true, y_pred, class_id):
    truth = np.asarray(y_true) == class_id
    guess = np.asarray(y_pred) == class_id
    both = np.logical_and(truth, guess).sum()
    either = np.logical_or(truth, guess).sum()
'''

WRONG = {
    "ex1-answer": {
        "draws the corner from 0 ... H - size - 1: never the last row or column (the off-by-one the text warns about)":
            _CROP_HEAD + _CHECK + '''
    top_seed, left_seed = tf.unstack(tf.random.split(seed, 2))
    top = tf.random.stateless_uniform([], top_seed, 0, height - size, dtype=tf.int32)
    left = tf.random.stateless_uniform([], left_seed, 0, width - size, dtype=tf.int32)
    return image[top:top + size, left:left + size], mask[top:top + size, left:left + size]
''',
        "draws a window for the image and another for the mask (the text warns about it)": _CROP_HEAD + _CHECK + '''
    image_seed, mask_seed = tf.unstack(tf.random.split(seed, 2))
    cuts = []
    for array, array_seed in ((image, image_seed), (mask, mask_seed)):
        top_seed, left_seed = tf.unstack(tf.random.split(array_seed, 2))
        top = tf.random.stateless_uniform([], top_seed, 0, height - size + 1, dtype=tf.int32)
        left = tf.random.stateless_uniform([], left_seed, 0, width - size + 1, dtype=tf.int32)
        cuts.append(array[top:top + size, left:left + size])
    return tuple(cuts)
''',
        "one seed for the top and the left: the two draws are tied together": _CROP_HEAD + _CHECK + '''
    top = tf.random.stateless_uniform([], seed, 0, height - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seed, 0, width - size + 1, dtype=tf.int32)
    return image[top:top + size, left:left + size], mask[top:top + size, left:left + size]
''',
        "stacks image and mask as float32 to crop them together: the mask comes back float": _CROP_HEAD + _CHECK + '''
    both = tf.concat([tf.cast(image, tf.float32), tf.cast(mask, tf.float32)], axis=-1)
    window = tf.image.stateless_random_crop(both, [size, size, both.shape[-1]], seed=seed)
    return window[..., :-1], window[..., -1:]
''',
        "no size check: TensorFlow's own error, not a ValueError that gives the sizes": _CROP_HEAD + _CROP_DRAW,
        "checks the height only": _CROP_HEAD + '''
    if size > height:
        raise ValueError(f"a {size}x{size} crop does not fit in a {height}x{width} image")
''' + _CROP_DRAW,
        "checks the width only": _CROP_HEAD + '''
    if size > width:
        raise ValueError(f"a {size}x{size} crop does not fit in a {height}x{width} image")
''' + _CROP_DRAW,
        "refuses a crop as large as the image (>= instead of >)": _CROP_HEAD + '''
    if size >= height or size >= width:
        raise ValueError(f"a {size}x{size} crop does not fit in a {height}x{width} image")
''' + _CROP_DRAW,
    },
    "ex2-answer": {
        "draws the flip and the turns once for the image and again for the mask (the mistake the text warns about)": '''
def paired_flip_rotate(image, mask, seed):
    image_seed, mask_seed = tf.unstack(tf.random.split(seed, 2))
    moved = []
    for array, array_seed in ((image, image_seed), (mask, mask_seed)):
        flip_seed, turn_seed = tf.unstack(tf.random.split(array_seed, 2))
        array = tf.image.stateless_random_flip_left_right(array, flip_seed)
        moved.append(tf.image.rot90(array, tf.random.stateless_uniform([], turn_seed, 0, 4, dtype=tf.int32)))
    return tuple(moved)
''',
        "stateful random ops, one draw per array: nothing ties image and mask, nor the seed": '''
def paired_flip_rotate(image, mask, seed):
    image = tf.image.rot90(tf.image.random_flip_left_right(image), tf.random.uniform([], 0, 4, dtype=tf.int32))
    mask = tf.image.rot90(tf.image.random_flip_left_right(mask), tf.random.uniform([], 0, 4, dtype=tf.int32))
    return image, mask
''',
        "turns drawn from [0, 3): never three quarter turns": '''
def paired_flip_rotate(image, mask, seed):
    flip_seed, turn_seed = tf.unstack(tf.random.split(seed, 2))
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    turns = tf.random.stateless_uniform([], turn_seed, 0, 3, dtype=tf.int32)
    image, mask = tf.convert_to_tensor(image), tf.convert_to_tensor(mask)
    image, mask = tf.cond(flip, lambda: (tf.reverse(image, [1]), tf.reverse(mask, [1])), lambda: (image, mask))
    return tf.image.rot90(image, turns), tf.image.rot90(mask, turns)
''',
        "flips left-right and up-down instead of rotating: 4 of the 8 results": '''
def paired_flip_rotate(image, mask, seed):
    flip_seed, turn_seed = tf.unstack(tf.random.split(seed, 2))
    image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    mask = tf.image.stateless_random_flip_left_right(mask, flip_seed)
    return tf.image.stateless_random_flip_up_down(image, turn_seed), tf.image.stateless_random_flip_up_down(mask, turn_seed)
''',
        "converts the image to float32 first: the pixels come back as floats, not uint8": '''
def paired_flip_rotate(image, mask, seed):
    flip_seed, turn_seed = tf.unstack(tf.random.split(seed, 2))
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    turns = tf.random.stateless_uniform([], turn_seed, 0, 4, dtype=tf.int32)
    image, mask = tf.cast(image, tf.float32), tf.convert_to_tensor(mask)
    image, mask = tf.cond(flip, lambda: (tf.reverse(image, [1]), tf.reverse(mask, [1])), lambda: (image, mask))
    return tf.image.rot90(image, turns), tf.image.rot90(mask, turns)
''',
    },
    "ex3-answer": {
        "weights from the masks before the crop and transform (the mistake the text warns about)": _weighted('''
    masks_all = tf.cast(tf.convert_to_tensor(masks), tf.float32)
    cells_all = tf.reduce_sum(masks_all)
    membranes_all = tf.cast(tf.size(masks_all), tf.float32) - cells_all
    per_cell_all = tf.size(masks_all, out_type=tf.float32) / (2.0 * cells_all)
    per_membrane_all = tf.size(masks_all, out_type=tf.float32) / (2.0 * membranes_all)

    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        return x, y, region * tf.where(y > 0.5, per_cell_all, per_membrane_all)
'''),
        "balances each image on its own, not the batch": _weighted('''
    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        cells = tf.reduce_sum(region * y, axis=[1, 2, 3], keepdims=True)
        total = tf.reduce_sum(region, axis=[1, 2, 3], keepdims=True)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, total / (2.0 * tf.maximum(cells, 1.0)), 1.0)
        per_membrane = tf.where(both, total / (2.0 * tf.maximum(membranes, 1.0)), 1.0)
        return x, y, region * tf.where(y > 0.5, per_cell, per_membrane)
'''),
        "no zero border: the margin's pixels keep their class weights": _weighted('''
    def with_weights(x, y):
        region = tf.ones_like(y)
        cells = tf.reduce_sum(region * y)
        total = tf.reduce_sum(region)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, total / (2.0 * tf.maximum(cells, 1.0)), 1.0)
        per_membrane = tf.where(both, total / (2.0 * tf.maximum(membranes, 1.0)), 1.0)
        return x, y, region * tf.where(y > 0.5, per_cell, per_membrane)
'''),
        "counts the classes over the whole crop, margin included, then zeros the border": _weighted('''
    def with_weights(x, y):
        cells = tf.reduce_sum(y)
        total = tf.cast(tf.size(y), tf.float32)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, total / (2.0 * tf.maximum(cells, 1.0)), 1.0)
        per_membrane = tf.where(both, total / (2.0 * tf.maximum(membranes, 1.0)), 1.0)
        return x, y, interior * tf.where(y > 0.5, per_cell, per_membrane)
'''),
        "weights each class by its share n_c / n, not its inverse": _weighted('''
    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        cells = tf.reduce_sum(region * y)
        total = tf.reduce_sum(region)
        membranes = total - cells
        both = (cells > 0) & (membranes > 0)
        per_cell = tf.where(both, cells / total, 1.0)
        per_membrane = tf.where(both, membranes / total, 1.0)
        return x, y, region * tf.where(y > 0.5, per_cell, per_membrane)
'''),
        "a one-class batch gets n / (2 n), i.e. 0.5, not 1": _weighted('''
    def with_weights(x, y):
        region = interior * tf.ones_like(y)
        cells = tf.reduce_sum(region * y)
        total = tf.reduce_sum(region)
        membranes = total - cells
        per_cell = total / (2.0 * tf.maximum(cells, 1.0))
        per_membrane = total / (2.0 * tf.maximum(membranes, 1.0))
        return x, y, region * tf.where(y > 0.5, per_cell, per_membrane)
'''),
        "a margin one pixel too narrow on the far side (> crop - margin)": _weighted('''
    far = tf.range(crop)
    far = tf.cast((far >= margin) & (far <= crop - margin), tf.float32)
    interior = (far[:, None] * far[None, :])[None, :, :, None]
''' + _BALANCED),
        "calls lesson 5's stream without the transform": _weighted(_BALANCED, call="transform=None"),
    },
    "ex4-answer": {
        "Dice without the factor 2": _IOU_HEAD + '''
    if either == 0:
        return 1.0, 1.0
    return float(both / either), float(both / (truth.sum() + guess.sum()))
''',
        "IoU as the share of the true pixels found (recall)": _IOU_HEAD + '''
    if either == 0:
        return 1.0, 1.0
    return float(both / truth.sum()), float(2 * both / (truth.sum() + guess.sum()))
''',
        "a class in neither array gives nan (0 / 0), not 1.0": _IOU_HEAD + '''
    with np.errstate(invalid="ignore"):
        return float(both / either), float(2 * both / (truth.sum() + guess.sum()))
''',
        "pixel accuracy for IoU: every pixel counts, the class is ignored": _IOU_HEAD + '''
    if either == 0:
        return 1.0, 1.0
    iou = float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
    return iou, 2 * iou / (1 + iou)
''',
        "scores the pixels labelled 1 whatever the class asked for": '''
def iou_and_dice(y_true, y_pred, class_id):
    truth = np.asarray(y_true) > 0.5
    guess = np.asarray(y_pred) > 0.5
    both = np.logical_and(truth, guess).sum()
    either = np.logical_or(truth, guess).sum()
    if either == 0:
        return 1.0, 1.0
    return float(both / either), float(2 * both / (truth.sum() + guess.sum()))
''',
    },
}

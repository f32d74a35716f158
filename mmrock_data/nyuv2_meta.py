"""Facts about NYUv2 shared by the converter, the synthetic generator, the dataset and the
metrics."""

# The 19 detection classes of Gupta et al. (ECCV 2014), matched by exact name in the .mat's `names`.
DETECTION_CLASSES = ('bathtub', 'bed', 'bookshelf', 'box', 'chair', 'counter', 'desk', 'door',
                     'dresser', 'garbage bin', 'lamp', 'monitor', 'night stand', 'pillow', 'sink',
                     'sofa', 'table', 'television', 'toilet')

# The classes of the converter's semantic maps (seg/NNNN.png): the 19 detection classes (0..18),
# then 'other' (19: any other labelled name) and 'background' (20: the room's structure, the names
# of STRUCTURE_CLASSES); unlabelled pixels (label 0) are SEG_IGNORE_INDEX. A SegmentationHead
# reads them with num_classes=20 (its background is class 20).
SEG_CLASSES = DETECTION_CLASSES + ('other', 'background')
STRUCTURE_CLASSES = ('wall', 'floor', 'ceiling')
SEG_IGNORE_INDEX = 255

# The 27 scene classes: the sorted unique values of `sceneTypes` in nyu_depth_v2_labeled.mat.
# Fixed here so that a dataset holding only some scene types keeps the same ids.
SCENE_CLASSES = ('basement', 'bathroom', 'bedroom', 'bookstore', 'cafe', 'classroom',
                 'computer_lab', 'conference_room', 'dinette', 'dining_room', 'exercise_room',
                 'foyer', 'furniture_store', 'home_office', 'home_storage', 'indoor_balcony',
                 'kitchen', 'laundry_room', 'living_room', 'office', 'office_kitchen', 'playroom',
                 'printer_room', 'reception_room', 'student_lounge', 'study', 'study_room')

NUM_IMAGES = 1449  # images in nyu_depth_v2_labeled.mat
NUM_NAMES = 894  # entries of its `names` cell array
IMAGE_HW = (480, 640)  # height, width of every NYUv2 frame

# 1-based positions of the detection classes in the official 894 `names` (the values of `labels`).
# Only the synthetic generator relies on them; the converter looks names up by exact match.
NAME_INDEX = {
    'book': 1,
    'cabinet': 3,
    'ceiling': 4,
    'chair': 5,
    'counter': 7,
    'floor': 11,
    'garbage bin': 12,
    'table': 19,
    'wall': 21,
    'sink': 24,
    'box': 26,
    'door': 28,
    'desk': 36,
    'monitor': 49,
    'sofa': 83,
    'bookshelf': 88,
    'pillow': 119,
    'toilet': 124,
    'bathtub': 136,
    'lamp': 144,
    'bed': 157,
    'night stand': 158,
    'dresser': 169,
    'television': 172
}

# Kinect RGB-camera intrinsics of the NYUv2 toolbox (camera_params.m), in pixels of a 640x480 frame.
# The labeled set's depth maps are registered to the RGB frame, so these back-project `depths`.
KINECT_FX, KINECT_FY = 5.1885790117450188e+02, 5.1946961112127485e+02
KINECT_CX, KINECT_CY = 3.2558244941119034e+02, 2.5373616633400465e+02

# Normal PNGs (normals_gt): n = 2 * v / 255 - 1 per channel; masks are non-zero where valid.

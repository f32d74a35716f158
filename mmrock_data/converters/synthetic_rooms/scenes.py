"""The 27 NYUv2 scene types as furnishing recipes, and random rooms and viewpoints.

Each scene type has a recipe (which furniture, how many, where: against walls, in the open, on
top of other things, in rows), a room size class and the finishes (wall / floor colours and
textures, ceiling height) it draws from. Finishes are shared by several scene types, so the scene
shows in the room's contents and layout rather than in a colour.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from ...nyuv2_meta import SCENE_CLASSES
from .catalogue import jitter, pick
from .planner import Planner, Retry
from .scene import Camera, Room

SCENE_TYPES = SCENE_CLASSES

# finish -> (wall colours, [(floor colour, floor texture)], wall texture, ceiling height range)
FINISHES = {
    'home': ([(205, 190, 170), (180, 195, 215), (215, 205, 180), (220, 210, 190),
              (200, 210, 195)], [((150, 105, 65), 'wood'), ((140, 120, 110), 'fabric'),
                                 ((130, 90, 60), 'wood')], 'plain', (2.5, 3.0)),
    'wet': ([(215, 225, 230), (230, 230, 225)], [((200, 200, 195), 'tiles')], 'tiles', (2.4, 2.8)),
    'kitchen': ([(235, 225, 200), (220, 230, 220),
                 (230, 230, 225)], [((180, 170, 150), 'tiles'), ((200, 200, 195), 'tiles'),
                                    ((150, 105, 65), 'wood')], 'plain', (2.4, 2.9)),
    'commercial': ([(225, 225, 225), (210, 215, 220),
                    (230, 228, 220)], [((100, 105, 115), 'fabric'), ((150, 140, 130), 'fabric'),
                                       ((175, 175, 170), 'tiles')], 'plain', (2.6, 3.2)),
    'utility':
    ([(200, 200, 195), (185, 185, 180),
      (215, 215, 210)], [((135, 135, 130), 'plain'),
                         ((120, 115, 105), 'plain')], 'plain', (2.25, 2.5)),
}
# size class -> (width range, depth range), metres
SIZES = {
    'small': ((2.6, 3.6), (3.0, 4.2)),
    'medium': ((3.4, 5.0), (3.8, 5.5)),
    'large': ((4.8, 6.5), (5.0, 7.0)),
    'shallow': ((3.6, 5.5), (2.7, 3.4))
}

# ----------------------------------------------------------------------------------------------
# furniture groups


def _bed_group(p: Planner):
    bed = p.wall('bed', required=True)
    for _ in range(2 if bed.hx > 0.6 else 1):
        p.on('pillow', bed, region='back')
    for side in p.rng.permutation([-1, 1])[:int(p.rng.integers(1, 3))]:
        stand = p.beside('night stand', bed, int(side))
        if stand is not None and p.chance(0.7):
            p.on('lamp', stand)


def _tv_stand(p: Planner, required=False):
    stand = p.wall('dresser', required=required)
    if not any(p.on('television', stand, max_yaw=0.) for _ in range(5)) and required:
        raise Retry('television')


def _sofa_group(p: Planner, required=False, pillows=(1, 4), coffee=0.7):
    sofa = p.wall('sofa', required=required)
    for _ in range(int(p.rng.integers(*pillows)) if sofa else 0):
        p.on('pillow', sofa, region='back')
    if p.chance(coffee):
        p.free('table', variant='coffee')


def _desk_station(p: Planner, monitors=1, lamp=0., chair=0.8, required=False, desk=None):
    desk = desk or p.wall('desk', required=required)
    if desk is None:
        return None
    for _ in range(monitors):
        if p.on('monitor', desk, region='back', max_yaw=0.15) is None and required:
            raise Retry('monitor')
    if p.chance(lamp):
        p.on('lamp', desk)
    if p.chance(chair):
        p.around('chair', desk, sides=('front', ))
    return desk


def _table_set(p: Planner, chairs: Tuple[int, int], variant='dining', required=False, books=0.):
    table = p.free('table', required=required, face_camera=False, variant=variant)
    if table is None:
        return None
    placed = sum(p.around('chair', table) is not None for _ in range(int(p.rng.integers(*chairs))))
    if required and not placed:
        raise Retry('chair')
    for _ in range(2):
        if p.chance(books):
            p.on('book', table)
    return table


def _counter_sink(p: Planner, required=False, sink=1.):
    counter = p.wall('counter', required=required)
    if counter is not None and p.chance(sink) and \
            p.on('sink', counter, max_yaw=0., variant='counter') is None and required:
        raise Retry('sink')
    return counter


def _some(p: Planner, n: Tuple[int, int], place, *args, required=False, **kw):
    """``place(*args, **kw)`` a random number of times in [n[0], n[1]), the first ``n[0]``
    ``required``. Returns the things placed."""
    things = [
        place(*args, required=required and k < n[0], **kw) for k in range(int(p.rng.integers(*n)))
    ]
    return [t for t in things if t is not None]


def _extras(p: Planner, door=0., box=0., bin=0., chair=0., plant=0., picture=0., window=0., rug=0.):
    if p.chance(rug):
        p.free('rug', floor=False, face_camera=False)
    if p.chance(door):
        p.wall('door')
    for k in range(3):
        if p.chance(box * 0.6**k):
            p.free('box', face_camera=False)
    if p.chance(bin):
        p.free('garbage bin')
    if p.chance(chair):
        p.free('chair')
    if p.chance(plant):
        p.wall('plant', walls=('left', 'right', 'far'))
    if p.chance(picture):
        p.wall('panel', z=p.rng.uniform(1.25, 1.5), variant='picture')
    if p.chance(window):
        p.wall('panel', z=p.rng.uniform(0.8, 0.95), variant='window')


# ----------------------------------------------------------------------------------------------
# the 27 recipes


def _basement(p: Planner):
    _some(p, (2, 5), p.free, 'box', required=True, face_camera=False)
    if p.chance(0.5):
        p.wall('bookshelf')
    if p.chance(0.4):
        _sofa_group(p, coffee=0.3)
        if p.chance(0.5):
            _tv_stand(p)
    if p.chance(0.4):
        p.wall('appliance', variant='washer')
    if p.chance(0.4):
        p.wall('cabinet')
    _extras(p, door=0.5, bin=0.4, chair=0.2)


def _bathroom(p: Planner):
    p.wall('toilet', required=True)
    p.wall('sink', required=True, variant='pedestal')
    if p.chance(0.7):
        p.wall('bathtub')
    if p.chance(0.5):
        p.wall('panel', z=p.rng.uniform(1.0, 1.2), variant='mirror')
    if p.chance(0.3):
        p.wall('cabinet', z=p.rng.uniform(1.4, 1.6), variant='wall')
    _extras(p, door=0.7, box=0.2, bin=0.6)


def _bedroom(p: Planner):
    _bed_group(p)
    if p.chance(0.75):
        dresser = p.wall('dresser')
        if p.chance(0.5):
            p.on('television', dresser, max_yaw=0.)
    _extras(p, door=0.6, box=0.5, bin=0.3, chair=0.4, picture=0.4, window=0.3, rug=0.3)


def _bookstore(p: Planner):
    _some(p, (2, 5), p.wall, 'bookshelf', required=True)
    if p.chance(0.7):
        table = p.free('table', face_camera=False)
        for _ in range(int(p.rng.integers(1, 4))):
            p.on('book', table)
    if p.chance(0.5):
        p.wall('counter')
    _extras(p, box=0.6, bin=0.3, chair=0.3, plant=0.2)


def _cafe(p: Planner):
    _table_set(p, (1, 3), variant='small', required=True)
    for _ in range(int(p.rng.integers(1, 4))):
        _table_set(p, (1, 3), variant='small')
    if p.chance(0.7):
        counter = p.wall('counter')
        if p.chance(0.5):
            p.on('appliance', counter, max_yaw=0., variant='microwave')
    if p.chance(0.2):
        p.wall('sofa')
    _extras(p, bin=0.5, plant=0.5, picture=0.4, window=0.3)


def _classroom(p: Planner):
    p.wall('panel', walls=('far', ), z=p.rng.uniform(0.8, 0.95), variant='board')
    desks = p.grid('desk', int(p.rng.integers(2, 4)), int(p.rng.integers(3, 5)), variant='school')
    if len(desks) < 2:
        raise Retry('desk')
    for desk in desks:
        if p.chance(0.85):
            p.around('chair', desk, sides=('front', ))
    _extras(p, door=0.5, bin=0.5, window=0.3)


def _computer_lab(p: Planner):
    desks = p.grid('desk', 2, int(p.rng.integers(2, 4)))
    if len(desks) < 2:
        raise Retry('desk')
    for desk in desks:
        _desk_station(p, monitors=1 + int(p.chance(0.3)), chair=0.8, desk=desk)
    if p.chance(0.3):
        p.wall('appliance', variant='printer')
    _extras(p, door=0.4, box=0.3, bin=0.5)


def _conference_room(p: Planner):
    _table_set(p, (4, 9), variant='conference', required=True)
    if p.chance(0.5):
        _tv_stand(p)
    if p.chance(0.6):
        p.wall('panel', z=p.rng.uniform(0.8, 0.95), variant='board')
    _extras(p, door=0.5, bin=0.3, plant=0.3, window=0.3)


def _dinette(p: Planner):
    _table_set(p, (2, 4), variant='small', required=True)
    if p.chance(0.6):
        p.wall('counter')
    if p.chance(0.5):
        p.wall('cabinet', z=p.rng.uniform(1.4, 1.55), variant='wall')
    if p.chance(0.3):
        p.free('lamp', variant='floor')
    _extras(p, bin=0.4, box=0.2, picture=0.3, window=0.5)


def _dining_room(p: Planner):
    _table_set(p, (2, 5), required=True)
    if p.chance(0.6):
        p.wall('dresser')
    if p.chance(0.4):
        p.free('lamp', variant='floor')
    if p.chance(0.2):
        p.wall('bookshelf')
    _extras(p, door=0.6, box=0.3, bin=0.3, picture=0.5, window=0.3, rug=0.3)


def _exercise_room(p: Planner):
    p.free('equipment', required=True, variant=pick(p.rng, ('treadmill', 'bike', 'bench')))
    for _ in range(int(p.rng.integers(0, 3))):
        p.free('equipment', variant=pick(p.rng, ('treadmill', 'bike', 'bench')))
    p.free('box', required=True, face_camera=False)
    p.free('garbage bin', required=True)
    if p.chance(0.6):
        p.wall('panel', z=p.rng.uniform(0.1, 0.2), variant='mirror')
    if p.chance(0.4):
        _tv_stand(p)
    _extras(p, door=0.4, chair=0.3, rug=0.4)


def _foyer(p: Planner):
    p.wall('door', required=True)
    console = p.wall(pick(p.rng, ('dresser', 'night stand')), required=True)
    if p.chance(0.6):
        p.on('lamp', console)
    if p.chance(0.4):
        p.wall('door')
    if p.chance(0.3):
        p.wall('panel', z=p.rng.uniform(0.9, 1.1), variant='mirror')
    _extras(p, box=0.4, bin=0.2, chair=0.5, plant=0.4, picture=0.5, rug=0.5)


def _furniture_store(p: Planner):
    p.free('sofa', required=True, face_camera=False)
    for cls, variant, prob in (('sofa', 'armchair', 0.6), ('sofa', 'sofa', 0.4), ('bed', None, 0.4),
                               ('table', 'dining', 0.6), ('table', 'coffee', 0.5),
                               ('lamp', 'floor', 0.6), ('dresser', None, 0.4), ('chair', None, 0.6),
                               ('chair', None, 0.4), ('lamp', 'floor', 0.3)):
        if p.chance(prob):
            p.free(cls, face_camera=False, **({'variant': variant} if variant else {}))
    _extras(p, box=0.3, plant=0.3, rug=0.3)


def _home_office(p: Planner):
    _desk_station(p, required=True, lamp=0.6, chair=0.7)
    if p.chance(0.6):
        p.wall('bookshelf')
    if p.chance(0.5):
        _sofa_group(p, pillows=(0, 2), coffee=0.)
    _extras(p, door=0.5, box=0.5, bin=0.5, picture=0.3, window=0.3)


def _home_storage(p: Planner):
    p.wall('bookshelf', required=True)
    boxes = _some(p, (2, 6), p.free, 'box', required=True, face_camera=False)
    for box in boxes:
        if p.chance(0.5):
            p.on('box', box)
    if p.chance(0.5):
        p.wall('cabinet')
    _extras(p, door=0.4, bin=0.2)


def _indoor_balcony(p: Planner):
    _some(p, (2, 4), p.wall, 'panel', walls=('far', ), z=p.rng.uniform(0.8, 0.95), variant='window')
    _table_set(p, (1, 3), variant='small', required=True)
    _some(p, (1, 4), p.wall, 'plant')
    if p.chance(0.3):
        p.free('sofa', variant='armchair')
    _extras(p, box=0.2, chair=0.5, rug=0.2)


def _kitchen(p: Planner):
    _counter_sink(p, required=True)
    if p.chance(0.4):
        p.wall('counter')
    if p.chance(0.6):
        p.wall('appliance', variant='fridge')
    if p.chance(0.4):
        p.wall('appliance', variant='stove')
    if p.chance(0.6):
        p.wall('cabinet', z=p.rng.uniform(1.4, 1.55), variant='wall')
    if p.chance(0.5):
        _table_set(p, (1, 3))
    _extras(p, door=0.5, box=0.4, bin=0.7, window=0.3)


def _laundry_room(p: Planner):
    washer = p.wall('appliance', required=True, variant='washer')
    if p.chance(0.7):
        p.wall('appliance', variant='washer')
    p.free('garbage bin', required=True)
    _counter_sink(p, required=True, sink=0.6)
    if p.chance(0.5):
        p.on('box', washer)
    if p.chance(0.5):
        p.wall('cabinet', z=p.rng.uniform(1.4, 1.6), variant='wall')
    _extras(p, door=0.5, box=0.5)


def _living_room(p: Planner):
    _sofa_group(p, required=True)
    _tv_stand(p, required=True)
    if p.chance(0.6):
        p.free('lamp', variant='floor')
    if p.chance(0.5):
        p.free('sofa', variant='armchair')
    if p.chance(0.4):
        p.wall('bookshelf')
    _extras(p, door=0.5, box=0.3, bin=0.2, chair=0.3, plant=0.4, picture=0.5, window=0.3, rug=0.4)


def _office(p: Planner):
    _desk_station(p, monitors=1 + int(p.chance(0.3)), required=True)
    if p.chance(0.6):
        _desk_station(p, monitors=1 + int(p.chance(0.3)))
    if p.chance(0.3):
        p.wall('bookshelf')
    if p.chance(0.5):
        p.wall('cabinet', variant='filing')
    _extras(p, door=0.6, box=0.6, bin=0.7, chair=0.3, plant=0.3)


def _office_kitchen(p: Planner):
    counter = _counter_sink(p, required=True)
    if p.chance(0.6):
        p.on('appliance', counter, max_yaw=0., variant='microwave')
    p.wall('appliance', required=True, variant='fridge')
    p.free('garbage bin', required=True)
    if p.chance(0.5):
        p.free('garbage bin')
    if p.chance(0.6):
        _table_set(p, (1, 4), variant=pick(p.rng, ('small', 'dining')))
    _extras(p, box=0.3, plant=0.2)


def _playroom(p: Planner):
    _some(p, (2, 5), p.free, 'box', required=True, face_camera=False)
    _some(p, (1, 4), p.free, 'pillow', face_camera=False)
    if p.chance(0.5):
        _table_set(p, (1, 3), variant='small')
    if p.chance(0.3):
        p.wall('sofa')
    if p.chance(0.3):
        _tv_stand(p)
    if p.chance(0.3):
        p.wall('bookshelf')
    _extras(p, rug=0.6, picture=0.4, bin=0.2)


def _printer_room(p: Planner):
    p.wall('appliance', required=True, variant='printer')
    if p.chance(0.4):
        p.wall('appliance', variant='printer')
    p.wall('counter', required=True)
    _some(p, (1, 4), p.free, 'box', required=True, face_camera=False)
    if p.chance(0.6):
        p.wall('cabinet', variant='filing')
    if p.chance(0.3):
        p.wall('bookshelf')
    _extras(p, door=0.4, bin=0.6)


def _reception_room(p: Planner):
    desk = p.wall('counter', required=True)
    if p.chance(0.7):
        p.on('monitor', desk, max_yaw=0.3)
    _some(p, (2, 5), p.wall, 'chair', walls=('left', 'right'), required=True)
    if p.chance(0.5):
        _sofa_group(p, pillows=(0, 2), coffee=0.5)
    _extras(p, door=0.6, box=0.2, bin=0.3, plant=0.6, picture=0.4)


def _student_lounge(p: Planner):
    _sofa_group(p, required=True, pillows=(0, 2), coffee=0.7)
    _some(p, (1, 3), p.free, 'sofa', required=True, variant=pick(p.rng, ('sofa', 'armchair')))
    if p.chance(0.5):
        _table_set(p, (1, 4), variant='small')
    if p.chance(0.3):
        _tv_stand(p)
    _extras(p, bin=0.5, chair=0.4, plant=0.3, rug=0.3, window=0.3)


def _study(p: Planner):
    desk = _desk_station(p, monitors=int(p.chance(0.15)), lamp=0.7, chair=0.8, required=True)
    for _ in range(2):
        if p.chance(0.6):
            p.on('book', desk)
    _some(p, (1, 3), p.wall, 'bookshelf', required=True)
    if p.chance(0.5):
        p.free('sofa', variant='armchair')
    if p.chance(0.4):
        p.free('lamp', variant='floor')
    _extras(p, door=0.4, box=0.2, bin=0.3, picture=0.3, rug=0.3)


def _study_room(p: Planner):
    _table_set(p, (3, 7), required=True, books=0.7)
    if p.chance(0.5):
        p.wall('panel', z=p.rng.uniform(0.8, 0.95), variant='board')
    if p.chance(0.5):
        p.wall('bookshelf')
    _extras(p, door=0.5, bin=0.3, window=0.3)


# scene type -> (recipe, size class, finishes)
RECIPES = {
    'basement': (_basement, 'medium', ('utility', )),
    'bathroom': (_bathroom, 'small', ('wet', )),
    'bedroom': (_bedroom, 'medium', ('home', )),
    'bookstore': (_bookstore, 'large', ('commercial', 'home')),
    'cafe': (_cafe, 'large', ('commercial', 'kitchen')),
    'classroom': (_classroom, 'large', ('commercial', )),
    'computer_lab': (_computer_lab, 'large', ('commercial', )),
    'conference_room': (_conference_room, 'medium', ('commercial', )),
    'dinette': (_dinette, 'small', ('kitchen', 'home')),
    'dining_room': (_dining_room, 'medium', ('home', )),
    'exercise_room': (_exercise_room, 'medium', ('home', 'utility', 'commercial')),
    'foyer': (_foyer, 'small', ('home', )),
    'furniture_store': (_furniture_store, 'large', ('commercial', )),
    'home_office': (_home_office, 'medium', ('home', )),
    'home_storage': (_home_storage, 'small', ('home', 'utility')),
    'indoor_balcony': (_indoor_balcony, 'shallow', ('home', )),
    'kitchen': (_kitchen, 'medium', ('kitchen', )),
    'laundry_room': (_laundry_room, 'small', ('wet', 'utility')),
    'living_room': (_living_room, 'medium', ('home', )),
    'office': (_office, 'medium', ('commercial', )),
    'office_kitchen': (_office_kitchen, 'medium', ('commercial', 'kitchen')),
    'playroom': (_playroom, 'medium', ('home', )),
    'printer_room': (_printer_room, 'small', ('commercial', 'utility')),
    'reception_room': (_reception_room, 'medium', ('commercial', )),
    'student_lounge': (_student_lounge, 'large', ('commercial', )),
    'study': (_study, 'medium', ('home', )),
    'study_room': (_study_room, 'medium', ('commercial', )),
}
assert tuple(RECIPES) == SCENE_TYPES

# ----------------------------------------------------------------------------------------------
# rooms and viewpoints


def sample_camera(rng: np.random.Generator, size: Sequence[float]) -> Camera:
    """A camera near the south wall of a room, looking north-ish.

    Args:
        rng (np.random.Generator): Random generator.
        size (Sequence[float]): (W, D, H) of the room, metres.

    Returns:
        Camera: The camera.
    """
    w, _, _ = size
    return Camera((w / 2 + rng.uniform(-0.4, 0.4), rng.uniform(0.25, 0.6), rng.uniform(1.2, 1.6)),
                  yaw=rng.uniform(-0.26, 0.26),
                  pitch=rng.uniform(-0.44, -0.17),
                  roll=rng.uniform(-0.035, 0.035))


def sample_view(rng: np.random.Generator, room: Room, camera: Camera) -> Camera:
    """Another viewpoint of the same room, near a camera.

    Args:
        rng (np.random.Generator): Random generator.
        room (Room): The room.
        camera (Camera): The first viewpoint.

    Returns:
        Camera: The new viewpoint.
    """
    w, d, h = room.size
    x, y, z = camera.position
    return Camera((float(np.clip(x + rng.uniform(-0.35, 0.35), 0.3,
                                 w - 0.3)), float(np.clip(y + rng.uniform(-0.15, 0.15), 0.2, 0.8)),
                   float(np.clip(z + rng.uniform(-0.1, 0.1), 1.15, 1.65))),
                  yaw=camera.yaw + rng.uniform(-0.17, 0.17),
                  pitch=float(np.clip(camera.pitch + rng.uniform(-0.07, 0.07), -0.5, -0.12)),
                  roll=rng.uniform(-0.035, 0.035))


def sample_room(rng: np.random.Generator,
                scene_type: Optional[str] = None,
                occluder_prob: float = 0.35) -> Tuple[Room, Camera]:
    """A furnished room and a camera that sees it.

    Args:
        rng (np.random.Generator): Random generator.
        scene_type (str, optional): One of SCENE_TYPES. Defaults to None (random).
        occluder_prob (float): Probability of a floor lamp occluding a wide thing. Defaults to
            0.35.

    Returns:
        tuple[Room, Camera]: The room and the camera.

    Raises:
        RuntimeError: No layout found in 50 tries.
    """
    scene_type = scene_type or pick(rng, SCENE_TYPES)
    recipe, size_class, finishes = RECIPES[scene_type]
    (w0, w1), (d0, d1) = SIZES[size_class]
    for _ in range(50):
        walls, floors, wall_tex, (h0, h1) = FINISHES[pick(rng, finishes)]
        size = (rng.uniform(w0, w1), rng.uniform(d0, d1), rng.uniform(h0, h1))
        camera = sample_camera(rng, size)
        planner = Planner(rng, size, camera)
        try:
            recipe(planner)
        except Retry:
            continue
        if planner.chance(occluder_prob):
            planner.occlude()
        floor_color, floor_tex = pick(rng, floors)
        room = Room(size, scene_type, planner.things, jitter(rng, pick(rng, walls), 8), wall_tex,
                    jitter(rng, floor_color, 10), floor_tex)
        return room, camera
    raise RuntimeError(f'could not lay out a {scene_type}')

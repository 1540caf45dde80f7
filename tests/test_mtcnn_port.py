"""Our MTCNN (models/mtcnn.py + emsync/video/mtcnn.py, the facenet-pytorch wheel's weights) finds the
same faces as facenet-pytorch's own `MTCNN.detect` on real frames, without importing torchvision."""

import numpy as np
import pytest

CLIPS = {"ekman6/joy.mp4": [0.3, 4.0], "ekman6/sample.mp4": [0.3, 5.24], "video/chaplin.mp4": [5.12], "ekman6/disgust.mp4": [24.36]}


@pytest.fixture(scope="module")
def mtcnn():
    from emsync.video.mtcnn import load_packaged_mtcnn

    return load_packaged_mtcnn()


def _astronaut():
    from skimage import data

    return data.astronaut()


def test_the_astronauts_face_and_nothing_in_a_blank_frame(mtcnn):
    from emsync.video.mtcnn import detect

    boxes, probs = detect(mtcnn, _astronaut())
    assert len(boxes) == 1 and probs[0] > 0.99
    x0, y0, x1, y1 = boxes[0]
    assert 160 < x0 < 200 and 40 < y0 < 90 and 250 < x1 < 290 and 150 < y1 < 200  # skimage's face: around (177, 66)-(272, 161)
    boxes, _ = detect(mtcnn, np.full((360, 640, 3), 128, np.uint8))
    assert boxes.shape == (0, 4)


def test_nms_keeps_the_best_of_overlapping_boxes():
    from emsync.video.mtcnn import nms

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 5, 5]], float)
    assert list(nms(boxes, np.array([0.8, 0.9, 0.7, 0.6]), 0.5)) == [1, 2, 3]  # IoU(0, 1) = 81/119 > 0.5
    assert list(nms(boxes, np.array([0.8, 0.9, 0.7, 0.6]), 0.6, smaller=True)) == [1, 2]  # 25 of box 3's 36 pixels lie in box 1


@pytest.mark.shared_data
def test_same_boxes_and_probabilities_as_facenet_pytorch(mtcnn, shared_data):
    facenet = pytest.importorskip("facenet_pytorch")  # the reference implementation (imports torchvision)
    from emsync.video.mtcnn import detect
    from emsync.video.sampling import read_frames

    ref = facenet.MTCNN(keep_all=True, device="cpu", min_face_size=20)
    frames = [_astronaut()] + [f for rel, ts in CLIPS.items() for f in read_frames(shared_data / rel, ts, max_side=640)[1]]
    found = 0
    for image in frames:
        rb, rp = ref.detect(image)
        mb, mp = detect(mtcnn, image)
        rb, rp = (np.zeros((0, 4)), np.zeros(0)) if rb is None else (np.asarray(rb, float), np.asarray(rp, float))
        assert len(mb) == len(rb)
        o, p = np.lexsort(rb.T[::-1]), np.lexsort(mb.T[::-1])
        np.testing.assert_allclose(mb[p], rb[o], atol=1e-3)
        np.testing.assert_allclose(mp[p], rp[o], atol=1e-4)
        found += len(mb)
    assert found >= 6  # faces in the astronaut, joy, the TV clip and Chaplin

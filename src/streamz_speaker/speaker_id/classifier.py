"""SpeakerClassifier: a NumPy feed-forward network with scikit-learn estimator conventions."""

from __future__ import annotations

import numpy as np

from ..core.errors import NotFittedError

_ADAM_BETA1, _ADAM_BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8


class SpeakerClassifier:
    """Feed-forward net: standardised input -> ReLU hidden layers with dropout -> softmax.

    Parameters
    ----------
    hidden_sizes : tuple of int
        Units in each hidden layer.
    dropout : float
        Probability of zeroing a hidden unit during training.
    learning_rate : float
        Adam step size.
    alpha : float
        L2 penalty on the weights.
    batch_size : int
        Samples per gradient step.
    max_epochs : int
        Passes over the data made by :meth:`fit`; :meth:`partial_fit` makes one.
    random_state : int or None
        Seed for initialisation, shuffling and dropout.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,), str
    coefs_ : list of ndarray, the ``i``-th of shape (n_in_i, n_out_i)
    intercepts_ : list of ndarray, the ``i``-th of shape (n_out_i,)
    mean_, scale_ : ndarray of shape (n_features_in_,)
        Input standardisation, fixed at the first fit so later updates see the same scale.
    n_features_in_ : int
    n_samples_seen_ : int
    loss_curve_ : list of float
        Mean training loss of each epoch.
    """

    def __init__(self, hidden_sizes=(256,), dropout=0.2, learning_rate=1e-3, alpha=1e-4,
                 batch_size=64, max_epochs=30, random_state=None):
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.random_state = random_state

    # -- scikit-learn protocol -------------------------------------------------------------
    def get_params(self, deep=True) -> dict:
        return {name: getattr(self, name) for name in ("hidden_sizes", "dropout", "learning_rate",
                                                       "alpha", "batch_size", "max_epochs",
                                                       "random_state")}

    def set_params(self, **params) -> "SpeakerClassifier":
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r}; valid parameters are "
                                 f"[{', '.join(sorted(valid))}]")
            setattr(self, name, value)
        return self

    def fit(self, X, y) -> "SpeakerClassifier":
        """Train from scratch for ``max_epochs`` epochs.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        X, y = self._check_X_y(X, y)
        self._initialize(X, np.unique(y))
        codes = self._encode(y)
        for _ in range(int(self.max_epochs)):
            self._epoch(X, codes)
        return self

    def partial_fit(self, X, y, classes=None) -> "SpeakerClassifier":
        """One epoch over ``X``; ``classes`` is required on the first call only.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            Every label the model will know; must equal ``classes_`` on later calls. Use
            :meth:`add_classes` to enrol new labels.
        """
        X, y = self._check_X_y(X, y)
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._initialize(X, np.unique(np.asarray(classes).astype(str)))
        elif classes is not None and not np.array_equal(np.sort(np.asarray(classes).astype(str)),
                                                        np.sort(self.classes_)):
            raise ValueError(f"classes={list(classes)} differs from the fitted classes "
                             f"{list(self.classes_)}; use add_classes() to enrol new labels")
        self._epoch(X, self._encode(y))
        return self

    def add_classes(self, labels) -> "SpeakerClassifier":
        """Widen the output layer with new labels, keeping everything already learned.

        Parameters
        ----------
        labels : array-like of str
            Labels not yet in ``classes_`` (known ones are ignored).
        """
        self._check_is_fitted()
        new = [str(label) for label in dict.fromkeys(np.asarray(labels).astype(str).tolist())
               if str(label) not in set(self.classes_.tolist())]
        if not new:
            return self
        self._ensure_state()
        W, b = self.coefs_[-1], self.intercepts_[-1]
        scale = np.sqrt(2.0 / (W.shape[0] + W.shape[1] + len(new)))
        self.coefs_[-1] = np.hstack([W, self._rng.normal(0, scale, (W.shape[0], len(new)))
                                     .astype(np.float32)])
        # New speakers start at the mean logit offset so they neither dominate nor vanish.
        self.intercepts_[-1] = np.concatenate([b, np.full(len(new), b.mean(), np.float32)])
        self.classes_ = np.concatenate([self.classes_, np.asarray(new, dtype=str)])
        self._reset_optimizer()
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns ordered as ``classes_``
        """
        self._check_is_fitted()
        activations = self._forward(self._check_X(X), train=False)
        return _softmax(activations[-1])

    def predict(self, X) -> np.ndarray:
        """Most probable label of each sample; ndarray of shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X) -> np.ndarray:
        """Last hidden layer's activations: a speaker embedding per sample.

        Returns
        -------
        ndarray of shape (n_samples, hidden_sizes[-1]), float32
        """
        self._check_is_fitted()
        return self._forward(self._check_X(X), train=False)[-2]

    # -- internals ---------------------------------------------------------------------------
    def _check_is_fitted(self):
        if not hasattr(self, "coefs_"):
            raise NotFittedError("this SpeakerClassifier is not fitted yet; call fit or "
                                 "partial_fit first")

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, n_features), got {X.shape}")
        if hasattr(self, "n_features_in_") and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the model expects "
                             f"{self.n_features_in_}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values")
        return X

    def _check_X_y(self, X, y):
        X = self._check_X(X)
        y = np.asarray(y).astype(str)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("cannot train on 0 samples")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if any(int(h) <= 0 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        return X, y

    def _encode(self, y) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.classes_.tolist())}
        unknown = sorted(set(y.tolist()) - index.keys())
        if unknown:
            raise ValueError(f"labels {unknown} are not in classes_ {list(self.classes_)}; "
                             "use add_classes() first")
        return np.fromiter((index[label] for label in y.tolist()), dtype=np.int64, count=y.size)

    def _initialize(self, X, classes):
        self._rng = np.random.default_rng(self.random_state)
        self.classes_ = np.asarray(classes, dtype=str)
        self.n_features_in_ = X.shape[1]
        self.mean_ = X.mean(axis=0).astype(np.float32)
        self.scale_ = (X.std(axis=0) + 1e-6).astype(np.float32)
        sizes = [X.shape[1], *map(int, self.hidden_sizes), len(self.classes_)]
        self.coefs_, self.intercepts_ = [], []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6.0 / (n_in + n_out))  # Glorot uniform
            self.coefs_.append(self._rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32))
            self.intercepts_.append(np.zeros(n_out, dtype=np.float32))
        self.n_samples_seen_ = 0
        self.loss_curve_ = []
        self._reset_optimizer()

    def _reset_optimizer(self):
        params = self.coefs_ + self.intercepts_
        self._m = [np.zeros_like(p) for p in params]
        self._v = [np.zeros_like(p) for p in params]
        self._t = 0

    def _ensure_state(self):
        """Optimizer and RNG state after :func:`load_model` (they are not persisted)."""
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.random_state)
        if not hasattr(self, "_m") or len(self._m) != 2 * len(self.coefs_):
            self._reset_optimizer()

    def _forward(self, X, *, train: bool, masks=None):
        a = (X - self.mean_) / self.scale_
        activations = [a]
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            z = a @ W + b
            if i < len(self.coefs_) - 1:
                a = np.maximum(z, 0)
                if train and self.dropout > 0:
                    mask = (self._rng.random(a.shape, dtype=np.float32) >= self.dropout)
                    a = a * mask / np.float32(1 - self.dropout)
                    masks.append(mask)
            else:
                a = z
            activations.append(a)
        return activations

    def _epoch(self, X, codes):
        self._ensure_state()
        n = X.shape[0]
        order = self._rng.permutation(n)
        total = 0.0
        for start in range(0, n, int(self.batch_size)):
            idx = order[start:start + int(self.batch_size)]
            total += self._step(X[idx], codes[idx]) * idx.size
        self.n_samples_seen_ += n
        self.loss_curve_.append(total / n)
        params = self.coefs_ + self.intercepts_
        if not all(np.isfinite(p).all() for p in params):
            raise FloatingPointError("training diverged (non-finite weights); lower the "
                                     "learning rate")

    def _step(self, Xb, yb) -> float:
        masks = []
        acts = self._forward(Xb, train=True, masks=masks)
        proba = _softmax(acts[-1])
        m = Xb.shape[0]
        loss = -float(np.mean(np.log(proba[np.arange(m), yb] + 1e-12)))
        delta = proba
        delta[np.arange(m), yb] -= 1.0
        delta /= m
        grads_W, grads_b = [], []
        for i in range(len(self.coefs_) - 1, -1, -1):
            grads_W.append(acts[i].T @ delta + self.alpha * self.coefs_[i])
            grads_b.append(delta.sum(axis=0))
            if i > 0:
                delta = (delta @ self.coefs_[i].T) * (acts[i] > 0)
                if masks:
                    delta = delta * masks[i - 1] / np.float32(1 - self.dropout)
        grads = grads_W[::-1] + grads_b[::-1]
        self._t += 1
        lr = self.learning_rate * np.sqrt(1 - _ADAM_BETA2 ** self._t) / (1 - _ADAM_BETA1 ** self._t)
        params = self.coefs_ + self.intercepts_
        for p, g, m1, m2 in zip(params, grads, self._m, self._v):
            m1 *= _ADAM_BETA1
            m1 += (1 - _ADAM_BETA1) * g
            m2 *= _ADAM_BETA2
            m2 += (1 - _ADAM_BETA2) * g * g
            p -= (lr * m1 / (np.sqrt(m2) + _ADAM_EPS)).astype(np.float32)
        return loss


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)

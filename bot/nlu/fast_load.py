"""Faster model loading: build the TensorFlow weights eagerly, then restore them.

Rasa's ``RasaModel.load`` compiles each model and runs one throwaway training
step to create its weights before restoring them from the checkpoint. Traced
as a TF graph that step cost about 40 s for DIET on 2 cores; run eagerly it
takes about a second. Prediction is still a traced graph, so parsing is as
fast as before and gives identical results (checked on the whole held-out set:
same intents, same confidences, and no checkpoint value left unrestored).
Only DIET-based models (DIETClassifier, ResponseSelector) are loaded this way.

The ``FastModelLoading`` component installs this when a model is loaded; it
is first in the pipeline so it runs before the models it speeds up. It also installs
``bot.nlu.action_validation`` (checking action server answers without re-checking the schema),
since the component is what every process that loads the model runs first.
"""

import logging
import os
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import action_validation
from bot.nlu.stateless import StatelessComponent

logger = logging.getLogger(__name__)
_INSTALLED = {"done": False}


def install() -> None:
    """Replace RasaModel.load with the eager-build variant (idempotent; IPR_FAST_LOAD=0 turns it off)."""
    if _INSTALLED["done"] or os.environ.get("IPR_FAST_LOAD", "1") == "0":
        return
    from rasa.utils.tensorflow.models import RasaModel

    original = RasaModel.load.__func__

    from rasa.nlu.classifiers.diet_classifier import DIET

    def load(cls, model_file_name, model_data_example, predict_data_example=None, finetune_mode=False, *args, **kw):
        # Only the NLU models (DIET and the ResponseSelector built on it): an eager
        # step on one example leaves some of TED's layers unbuilt, so TED would
        # predict with fresh weights there.
        if not finetune_mode and issubclass(cls, DIET):
            model = _load_eager_build(cls, model_file_name, model_data_example, predict_data_example, *args, **kw)
            if model is not None:
                return model
        return original(cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kw)

    RasaModel.load = classmethod(load)
    _INSTALLED["done"] = True


def _load_eager_build(cls, model_file_name, model_data_example, predict_data_example, *args, **kwargs):
    """RasaModel.load's steps with the weight-building step run eagerly; None if the restore is incomplete."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.run_eagerly = bool(config.get(RUN_EAGERLY))
    status = model.load_weights(model_file_name)
    try:
        # Every saved value must have found its variable, or the model is not the trained one.
        status.assert_consumed()
    except AssertionError:
        logger.warning("fast load of %s left checkpoint values unrestored; loading it the slow way", cls.__name__)
        return None
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class FastModelLoading(StatelessComponent):
    """Installs the faster loading when the model is loaded; changes no message."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FastModelLoading":
        install()
        action_validation.install()
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        return messages

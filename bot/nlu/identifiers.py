"""Entity extractor for identifiers with a fixed shape (phone, patent, trademark and case numbers)."""

from typing import Any, Dict, List, Text

import rasa.nlu.utils.pattern_utils as pattern_utils
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.regex_entity_extractor import RegexEntityExtractor
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class IdentifierExtractor(RegexEntityExtractor):
    """Extracts every regex in the training data as an entity of the same name.

    Rasa's RegexEntityExtractor keeps only regexes whose entity is annotated in
    examples, which would make DIET learn these identifiers too and extract
    them twice. Ours are never annotated: the regex alone is the source.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **RegexEntityExtractor.get_default_config(),
            "use_lookup_tables": False,
            "use_word_boundaries": False,
        }

    def train(self, training_data: TrainingData) -> Resource:
        self.patterns: List[Dict[Text, Text]] = pattern_utils.extract_patterns(
            training_data,
            use_lookup_tables=self._config["use_lookup_tables"],
            use_regexes=True,
            use_only_entities=False,
            use_word_boundaries=self._config["use_word_boundaries"],
        )
        self.persist()
        return self._resource

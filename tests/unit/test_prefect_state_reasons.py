"""A run that ended in Prefect without an error of ours (a crashed shard, a task whose process
died) is explained in our own sentence, in the site's language; what Prefect's state says
(English, Prefect's) is only its parameter."""
from __future__ import annotations

import pytest
from django.utils import translation
from prefect.states import Crashed, Failed

from flows.common import prefect_state_reason


@pytest.mark.parametrize(
    ("state", "russian", "english"),
    [
        (Crashed(message="Execution was interrupted by an unexpected exception: KeyboardInterrupt"),
         "запуск аварийно завершился; Prefect сообщает: Execution was interrupted by an unexpected exception: KeyboardInterrupt",
         "the run crashed; Prefect says: Execution was interrupted by an unexpected exception: KeyboardInterrupt"),
        (Crashed(), "запуск аварийно завершился; смотрите его журнал в Prefect", "the run crashed; see its logs in Prefect"),
        (Failed(message="Flow run encountered an exception"),
         "запуск не удался; Prefect сообщает: Flow run encountered an exception",
         "the run failed; Prefect says: Flow run encountered an exception"),
    ],
)
def test_a_prefect_state_reads_as_our_sentence_with_prefects_text(state, russian, english):
    reason = prefect_state_reason(state)

    with translation.override("ru"):
        assert reason.translated() == russian
    with translation.override("en"):
        assert reason.translated() == english
    assert str(reason) == english  # the logs' and Prefect's English

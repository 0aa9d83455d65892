"""A second beat of the same name stops with one line instead of running beside the first.

Beat answers remote control (CELERY_BEAT_ENABLE_REMOTE_CONTROL, for the beat-alive probe)
on a queue named after its node name, celerybeat@host by default or its --hostname.
RabbitMQ lets one connection only consume that queue: a second beat of the same name on
the same broker (two hosts with the same host name, two containers, a copy started by
hand) would send every scheduled task a second time, while logging a long ResourceLocked
traceback every 5 s. So beat looks before it starts: when another connection holds the
queue, it logs one line and exits with status 75 (EX_TEMPFAIL). Under systemd or compose,
which restart it, it is a standby: the queue goes with the first beat's connection, and
the next start takes over. This needs the broker to enforce the exclusive queue: with
Redis, or with beats of different names, both run; run one beat only.
"""

import logging

from amqp.exceptions import ResourceLocked
from celery.beat import Service, beat_nodename

logger = logging.getLogger(__name__)

# sysexits.h's EX_TEMPFAIL: a supervisor should try again later, unlike EX_CONFIG (78).
EXIT_TEMPORARY_FAILURE = 75


def refuse_a_second_beat(sender: Service, **kwargs) -> None:
    """On beat_init, before the scheduler starts: stop when the node's queue is held."""
    if not sender.remote_control:
        return  # Without remote control there is no queue to look at.
    node = beat_nodename(sender.hostname)
    queue = sender.app.control.mailbox.get_queue(node)
    with sender.app.connection_for_read() as connection:
        try:
            connection.connect()
            queue(connection.default_channel).queue_declare(passive=True)
        except ResourceLocked:
            logger.critical(
                "Another beat named %s already runs on this broker: this one would send "
                "every scheduled task twice, so it stops (exit status %d) and its supervisor "
                "retries, to take over once the other stops.",
                node,
                EXIT_TEMPORARY_FAILURE,
            )
            raise SystemExit(EXIT_TEMPORARY_FAILURE) from None
        except (*connection.connection_errors, *connection.channel_errors):
            return  # No such queue: no other beat. Or no broker yet: beat waits for it.

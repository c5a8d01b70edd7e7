"""kafka-python clients and the broker: producer, admin (topics), security, publish, the embedded broker."""

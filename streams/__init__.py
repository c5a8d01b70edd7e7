"""What consumes and keeps state: Kafka topic -> validated event -> Redis state -> rule evaluation."""

"""Money movement: the payment state machine, the channel protocol and the built-in simulator."""

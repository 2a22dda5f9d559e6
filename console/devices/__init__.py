"""Card reader logic: the IDTech SRED frame parser and the keystroke burst detector. Pure Python."""

"""The cash day's GUI: the drawer bar and dialogs of the Counter tab, and the Day Close view."""

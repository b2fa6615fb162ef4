"""What several test modules share: configs, fixtures' helpers, processes. Test modules import from
here (or get fixtures from a conftest), never from one another."""

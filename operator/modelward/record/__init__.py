"""Side effects after a decision: verdict cache, decision logs. They never change a decision."""

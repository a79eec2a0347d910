"""What every front end (Slack, Discord, the terminal) shares: the answer and document flows,
delivery onto a chat surface, background jobs, and the texts the bot says about itself."""
